"""Dynamic client registration (RFC 7591) and management (RFC 7592) with software statements from the local
stand-in Directory; the registered client then authenticates and runs client_credentials."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from opusof.authserver.directory import issue_software_statement, stand_in_key
from opusof.authserver.models import ClientAuthSettings
from opusof.models import TppClient
from tests.support.oauth_tpp import OAuthTpp, wsgi_http
from tests.support.tpp import TppActor, public_jwk


@pytest.fixture
def directory(tmp_path, settings):
    settings.OPUSOF_DIRECTORY_JWKS_PATH = str(tmp_path / "directory" / "jwks.json")
    stand_in_key()  # what load_demo does: the stand-in Directory key and the trusted JWKS
    return tmp_path


@pytest.fixture
def http(db):
    return wsgi_http()


REDIRECT = "https://registered.example.com/cb"


def ssa(key, **overrides):
    claims = {
        "software_id": "5e6b1b51-7a8c-4b1f-9d3e-1d2c3b4a5f60",
        "org_id": "0f6a3d52-1c1e-4b6c-8f4e-2b8c9a7d6e51",
        "org_name": "Iniciadora Registrada Ltda",
        "software_client_name": "App Registrado",
        "software_redirect_uris": ["https://registered.example.com/cb", "https://registered.example.com/cb2"],
        "software_api_webhook_uris": ["https://registered.example.com/webhooks"],
        "software_roles": ["PAGTO"],
        "software_jwks": {"keys": [public_jwk(key)]},
        **overrides,
    }
    return issue_software_statement(claims)


def test_register_read_update_delete(directory, http, rsa_keys):
    key = rsa_keys[2]
    # discovery now advertises registration
    assert http.get("/.well-known/openid-configuration").json()["registration_endpoint"].endswith("/auth/register")
    response = http.post(
        "/auth/register",
        json={"software_statement": ssa(key), "redirect_uris": ["https://registered.example.com/cb"]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    client = TppClient.objects.get(client_id=body["client_id"])
    assert client.organisation_id == "0f6a3d52-1c1e-4b6c-8f4e-2b8c9a7d6e51"
    assert client.redirect_uris == ["https://registered.example.com/cb"]
    assert client.webhook_uris == ["https://registered.example.com/webhooks"]
    assert client.roles == ["PAGTO"]
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    # the registered client authenticates with its key
    actor = TppActor(client=client, key=key, kid=public_jwk(key)["kid"])
    assert OAuthTpp(actor=actor, http=http).client_credentials()
    # RFC 7592 read / update / delete with the registration access token
    auth = {"Authorization": f"Bearer {body['registration_access_token']}"}
    uri = "/auth/register/" + client.client_id
    assert body["registration_client_uri"].endswith(uri)
    read = http.get(uri, headers=auth)
    assert read.status_code == 200
    assert read.json()["redirect_uris"] == ["https://registered.example.com/cb"]
    assert http.get(uri, headers={"Authorization": "Bearer wrong"}).status_code == 401
    updated = http.put(
        uri,
        headers=auth,
        json={"software_statement": ssa(key), "redirect_uris": ["https://registered.example.com/cb2"]},
    )
    assert updated.status_code == 200, updated.text
    client.refresh_from_db()
    assert client.redirect_uris == ["https://registered.example.com/cb2"]
    assert http.delete(uri, headers=auth).status_code == 204
    client.refresh_from_db()
    assert client.status == "INACTIVE"
    assert http.get(uri, headers=auth).status_code == 401


def test_registration_refusals(directory, http, rsa_keys):
    key = rsa_keys[2]
    # a redirect URI the SSA does not list
    response = http.post(
        "/auth/register", json={"software_statement": ssa(key), "redirect_uris": ["https://evil.example.com/cb"]}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    # an SSA older than 5 minutes
    stale = ssa(key, iat=int(time.time()) - 600)
    assert http.post("/auth/register", json={"software_statement": stale}).json()["error"] == (
        "invalid_software_statement"
    )
    # an SSA without the payments role
    no_role = ssa(key, software_roles=["DADOS"])
    assert http.post("/auth/register", json={"software_statement": no_role}).json()["error"] == (
        "unapproved_software_statement"
    )
    # an SSA signed by someone other than the Directory
    forged = TppActor(client=TppClient(client_id="x"), key=rsa_keys[3], kid="dir").sign(
        {"iss": "Open Banking Brasil prod SSA issuer", "iat": int(time.time()), "software_id": "s", "org_id": "o"}
    )
    response = http.post("/auth/register", json={"software_statement": forged, "redirect_uris": [REDIRECT]})
    assert response.status_code == 400
    # a signature that cannot be verified is invalid_software_statement (OFB DCR certification)
    assert response.json()["error"] == "invalid_software_statement"
    assert not ClientAuthSettings.objects.exists()


def _tampered(statement: str) -> str:
    """The Directory's statement with one claim changed after signing: its signature no longer verifies."""
    header, payload, signature = statement.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["org_name"] = "Outra Iniciadora"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged_payload}.{signature}"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"software_statement": "TAMPERED", "redirect_uris": [REDIRECT]}, "invalid_software_statement"),
        ({"software_statement": "SSA"}, "invalid_redirect_uri"),
        ({"software_statement": "SSA", "redirect_uris": []}, "invalid_redirect_uri"),
        ({"software_statement": "SSA", "redirect_uris": ["https://evil.example.com/cb"]}, "invalid_redirect_uri"),
        ({"software_statement": "SSA", "redirect_uris": [REDIRECT], "jwks": {"keys": []}}, "invalid_client_metadata"),
        (
            {"software_statement": "SSA", "redirect_uris": [REDIRECT], "jwks_uri": "https://evil.example.com/jwks"},
            "invalid_client_metadata",
        ),
    ],
    ids=["tampered", "no-redirect-uris", "empty-redirect-uris", "foreign-redirect", "jwks-by-value", "other-jwks-uri"],
)
def test_dcr_profile_refusals(directory, http, rsa_keys, body, error):
    statement = ssa(rsa_keys[2])
    body = {
        **body,
        "software_statement": _tampered(statement) if body["software_statement"] == "TAMPERED" else statement,
    }

    response = http.post("/auth/register", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert not TppClient.objects.exists()


def test_dcm_update_follows_the_same_rules(directory, http, rsa_keys):
    key = rsa_keys[2]
    created = http.post("/auth/register", json={"software_statement": ssa(key), "redirect_uris": [REDIRECT]}).json()
    auth = {"Authorization": f"Bearer {created['registration_access_token']}"}

    response = http.put(
        f"/auth/register/{created['client_id']}", headers=auth, json={"software_statement": ssa(key), "jwks": {}}
    )

    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


def test_a_dcr_client_gets_the_scopes_its_roles_allow(directory, http, rsa_keys):
    response = http.post("/auth/register", json={"software_statement": ssa(rsa_keys[2]), "redirect_uris": [REDIRECT]})

    assert response.status_code == 201, response.text
    client = TppClient.objects.get(client_id=response.json()["client_id"])
    assert {"openid", "payments", "recurring-payments", "nrp-consents"} <= set(client.scopes)
    assert set(response.json()["scope"].split()) == set(client.scopes)


def test_registration_off_without_directory_key(http, tmp_path):
    with override_settings(OPUSOF_DIRECTORY_JWKS_PATH=str(tmp_path / "none" / "jwks.json")):
        assert "registration_endpoint" not in http.get("/.well-known/openid-configuration").json()
        assert http.post("/auth/register", json={}).status_code == 404


def test_registered_jwks_uri_is_fetched_from_the_keystore(directory, http, rsa_keys):
    """A client whose keys live at the Directory keystore (software_jwks_uri), served by a real local server."""
    key = rsa_keys[2]
    body = json.dumps({"keys": [public_jwk(key)]}).encode()

    class Keystore(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keystore)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/org/jwks"
        statement = ssa(key, software_jwks_uri=uri, software_jwks=None)
        response = http.post(
            "/auth/register",
            json={"software_statement": statement, "redirect_uris": [REDIRECT], "jwks_uri": uri},
        )
        assert response.status_code == 201, response.text
        client = TppClient.objects.get(client_id=response.json()["client_id"])
        assert client.jwks_uri == uri
        assert client.jwks is None
        actor = TppActor(client=client, key=key, kid=public_jwk(key)["kid"])
        assert OAuthTpp(actor=actor, http=http).client_credentials()
    finally:
        server.shutdown()
        server.server_close()
