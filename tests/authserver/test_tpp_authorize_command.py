"""``manage.py tpp_authorize``: the demo TPP's OAuth steps around a real customer approval, over HTTP."""

import io
import json

import httpx
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command

from opusof.models import AccessToken
from opusof.tokens import token_hash
from tests.support.oauth_tpp import OAuthTpp, customer_decides
from tests.support.payment_bodies import ANA_CPF, consent_data
from tests.support.payments_v4 import PaymentsV4


def test_start_then_finish(live_server, tpp, demo_bank, tmp_path):
    pem = tpp.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "key.pem").write_bytes(pem)
    identity = {
        "client_id": tpp.client.client_id,
        "kid": tpp.kid,
        "private_key": "key.pem",
        "redirect_uri": tpp.client.redirect_uris[0],
    }
    (tmp_path / "client.json").write_text(json.dumps(identity))
    http = httpx.Client(base_url=live_server.url, timeout=30)
    consent_id = PaymentsV4(tpp=tpp, token=OAuthTpp(actor=tpp, http=http).client_credentials()).create_consent(
        consent_data()
    )
    out = io.StringIO()
    call_command("tpp_authorize", "start", consent_id, client_dir=str(tmp_path), base_url=live_server.url, stdout=out)
    authorize_url = out.getvalue().strip()
    assert authorize_url.startswith(live_server.url + "/auth/authorize?")
    redirect = customer_decides(http, authorize_url, cpf=ANA_CPF, action="approve", account="10000001")
    out = io.StringIO()
    call_command(
        "tpp_authorize",
        "finish",
        redirect.headers["location"],
        client_dir=str(tmp_path),
        base_url=live_server.url,
        stdout=out,
    )
    tokens = json.loads(out.getvalue())
    assert tokens["consent_id"] == consent_id
    assert AccessToken.objects.get(token_hash=token_hash(tokens["access_token"])).consent_id == consent_id
    assert not list((tmp_path / "flows").iterdir())
