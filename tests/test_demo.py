"""``manage.py load_demo``: staff login, sandbox customers, a demo TPP with its keys; a second run changes nothing."""

import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from merchant.services.merchants import merchant_authenticate
from opusof.jose import parse_jwks
from opusof.keys import jwk_thumbprint
from opusof.management.commands.load_demo import DEMO_CLIENT_ID, DEMO_ORGANISATION_ID
from opusof.models import TppClient

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def var_dir(settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def test_first_run_creates_the_staff_login_customers_and_the_demo_tpp(var_dir: Path) -> None:
    output = load_demo()

    admin = authenticate(username="admin", password="admin")
    assert admin is not None
    assert admin.is_staff
    assert admin.is_superuser
    assert "admin / admin (created)" in output
    assert "Ana Souza" in output

    client = TppClient.objects.get(client_id=DEMO_CLIENT_ID)
    assert client.organisation_id == DEMO_ORGANISATION_ID
    assert client.scopes == ["payments", "openid"]
    assert client.is_active
    assert not client.jwks_uri

    tpp_dir = var_dir / "demo-tpp"
    key = serialization.load_pem_private_key((tpp_dir / "private-key.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert (tpp_dir / "private-key.pem").stat().st_mode & 0o077 == 0, "the private key is readable by its owner only"

    jwks = json.loads((tpp_dir / "jwks.json").read_text())
    assert client.jwks == jwks
    (jwk,) = jwks["keys"]
    assert "d" not in jwk
    assert jwk["kid"] == jwk_thumbprint(jwk)
    assert jwk["alg"] == "PS256"
    assert jwk["use"] == "sig"
    # The registered public key is the one in private-key.pem.
    assert parse_jwks(jwks)[jwk["kid"]].public_numbers() == key.public_key().public_numbers()

    info = json.loads((tpp_dir / "client.json").read_text())
    assert info["client_id"] == DEMO_CLIENT_ID
    assert info["organisation_id"] == DEMO_ORGANISATION_ID
    assert info["kid"] == jwk["kid"]
    assert (tpp_dir / "README.md").is_file()
    assert f"kid {jwk['kid']}" in output

    # The demo shop's merchant (shop/, docs/shop.md), with the credentials the shop is configured with
    shop = merchant_authenticate(client_id=settings.SHOP_CLIENT_ID, client_secret=settings.SHOP_CLIENT_SECRET)
    assert shop.redirect_url == f"{settings.OPUSOF_BASE_URL}/loja/retorno"
    assert f"Demo shop merchant {settings.SHOP_CLIENT_ID} (created)" in output


def test_second_run_changes_nothing(var_dir: Path) -> None:
    load_demo()
    counts = row_counts()
    client = TppClient.objects.get(client_id=DEMO_CLIENT_ID)
    files = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (var_dir / "demo-tpp").iterdir()}

    output = load_demo()

    assert row_counts() == counts
    assert TppClient.objects.filter(client_id=DEMO_CLIENT_ID).count() == 1
    assert get_user_model().objects.filter(username="admin").count() == 1
    again = TppClient.objects.get(client_id=DEMO_CLIENT_ID)
    assert again.updated_at == client.updated_at
    assert again.jwks == client.jwks
    assert {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in (var_dir / "demo-tpp").iterdir()
    } == files
    assert "already there" in output
    assert "already registered" in output


def test_a_lost_key_is_replaced_and_registered_again(var_dir: Path) -> None:
    load_demo()
    old_jwks = TppClient.objects.get(client_id=DEMO_CLIENT_ID).jwks
    (var_dir / "demo-tpp" / "private-key.pem").unlink()

    load_demo()

    client = TppClient.objects.get(client_id=DEMO_CLIENT_ID)
    assert client.jwks != old_jwks
    assert client.jwks == json.loads((var_dir / "demo-tpp" / "jwks.json").read_text())
    assert TppClient.objects.filter(client_id=DEMO_CLIENT_ID).count() == 1
