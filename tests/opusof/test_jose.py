"""TPP keys from a JWKS URI: fetched once, shared through the cache, refetched once for a rotated kid. The JWKS is
served by a real local HTTP server."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from opusof.api.errors import BadSignature, InvalidClient
from opusof.api.responses import meta
from opusof.api.views import OfbApiView
from opusof.jose import clear_key_caches, verify_request
from opusof.services import tpp_client_register
from opusof.tokens import access_token_mint
from tests.support.tpp import TppActor, jwks_of, public_jwk

AUD = "https://api.opusof.test/open-banking/payments/v4/consents"


class JwksServer:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def uri(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/jwks.json"


@pytest.fixture
def jwks_server(rsa_keys) -> Iterator[JwksServer]:
    server = JwksServer(jwks_of(rsa_keys[0]))
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def uri_tpp(db, rsa_keys, jwks_server) -> TppActor:
    client = tpp_client_register(
        client_id=f"uri-{uuid.uuid4().hex[:8]}",
        organisation_id=str(uuid.uuid4()),
        name="uri tpp",
        jwks_uri=jwks_server.uri,
    )
    return TppActor(client=client, key=rsa_keys[0], kid=public_jwk(rsa_keys[0])["kid"])


def _signed(actor: TppActor, **kwargs: Any) -> str:
    claims = {"data": {}, "aud": AUD, "iss": actor.client.organisation_id, "iat": int(time.time())}
    return actor.sign({**claims, "jti": str(uuid.uuid4())}, **kwargs)


def test_jwks_uri_is_fetched_once_and_shared_through_the_cache(uri_tpp, jwks_server):
    for _ in range(3):
        assert verify_request(_signed(uri_tpp), client=uri_tpp.client, expected_audience=AUD)["data"] == {}
    assert jwks_server.hits == 1

    clear_key_caches()  # as a second process would start: the JWKS comes from the shared cache, not the network
    verify_request(_signed(uri_tpp), client=uri_tpp.client, expected_audience=AUD)
    assert jwks_server.hits == 1


def test_a_rotated_kid_is_refetched_once(uri_tpp, jwks_server, rsa_keys):
    verify_request(_signed(uri_tpp), client=uri_tpp.client, expected_audience=AUD)
    jwks_server.jwks = jwks_of(rsa_keys[0], rsa_keys[2])
    rotated = TppActor(client=uri_tpp.client, key=rsa_keys[2], kid=public_jwk(rsa_keys[2])["kid"])

    with override_settings(OPUSOF_JWKS_REFRESH_MIN_SECONDS=0):
        verify_request(_signed(rotated), client=uri_tpp.client, expected_audience=AUD)
        verify_request(_signed(rotated), client=uri_tpp.client, expected_audience=AUD)

    assert jwks_server.hits == 2


def test_unknown_kids_do_not_hammer_the_keystore(uri_tpp, jwks_server):
    verify_request(_signed(uri_tpp), client=uri_tpp.client, expected_audience=AUD)

    for _ in range(5):
        with pytest.raises(BadSignature):
            verify_request(_signed(uri_tpp, kid=f"forged-{uuid.uuid4()}"), client=uri_tpp.client, expected_audience=AUD)

    assert jwks_server.hits == 1  # within OPUSOF_JWKS_REFRESH_MIN_SECONDS of the fetch: no refetch


def test_unreachable_jwks_uri_is_bad_signature(db, rsa_keys):
    client = tpp_client_register(
        client_id="unreachable", organisation_id="org-x", name="x", jwks_uri="http://127.0.0.1:9/jwks.json"
    )
    actor = TppActor(client=client, key=rsa_keys[0], kid=public_jwk(rsa_keys[0])["kid"])

    with pytest.raises(BadSignature):
        verify_request(_signed(actor), client=client, expected_audience=AUD)


class EchoApi(OfbApiView):
    def post(self, request: Request) -> Response:
        return Response({"data": request.data["data"], "meta": meta()}, status=201)


urlpatterns = [path("open-banking/test/v1/jose-echo", EchoApi.as_view())]


@pytest.mark.urls(__name__)
def test_jwks_uri_through_the_api(uri_tpp, jwks_server):
    """Same path the views take: the parser verifies against the client's JWKS URI."""
    token = access_token_mint(client=uri_tpp.client, grant_type="client_credentials", scopes=["payments"])

    responses = [uri_tpp.post("/open-banking/test/v1/jose-echo", {"data": {"n": n}}, token=token) for n in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 201]
    assert uri_tpp.decode(responses[2])["data"] == {"n": 2}
    assert jwks_server.hits == 1


def test_verify_request_checks_in_spec_order(tpp):
    """A claim problem is only reported once the signature holds (1.2.3 before 1.2.4)."""
    bad_claims_bad_signature = _signed(tpp, kid="nope")
    with pytest.raises(BadSignature):
        verify_request(bad_claims_bad_signature, client=tpp.client, expected_audience=AUD + "/other")
    with pytest.raises(InvalidClient):
        verify_request(_signed(tpp), client=tpp.client, expected_audience=AUD + "/other")
