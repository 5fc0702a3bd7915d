"""Discovery metadata, revocation, introspection, certificate-bound tokens (RFC 8705) and tls_client_auth."""

import datetime as dt
from urllib.parse import quote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import override_settings
from django.urls import Resolver404, resolve

from opusof.authserver.models import ClientAuthSettings
from opusof.keys import holder_kid
from opusof.models import AccessToken
from opusof.tokens import token_hash
from tests.support.oauth_tpp import ISSUER, OAuthTpp, customer_decides, fragment, verify_id_token, wsgi_http
from tests.support.payment_bodies import ANA_CPF, consent_data
from tests.support.payments_v4 import PaymentsV4
from tests.support.spec import assert_response_matches_spec


@pytest.fixture
def oauth(tpp, demo_bank):
    return OAuthTpp(actor=tpp, http=wsgi_http())


def certificate(key: rsa.RSAPrivateKey, common_name: str) -> tuple[str, str]:
    """A self-signed client certificate: (header value as a proxy forwards it, subject DN)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "TPP Test"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return quote(pem), cert.subject.rfc4514_string()


def test_discovery_metadata_is_truthful(oauth):
    response = oauth.http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == ISSUER
    assert metadata["require_pushed_authorization_requests"] is True
    assert metadata["response_types_supported"] == ["code id_token", "code"]
    assert metadata["response_modes_supported"] == ["fragment", "jwt"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt", "tls_client_auth"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "pushed_authorization_request_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "jwks_uri",
        "registration_endpoint",
    ):
        if name not in metadata:
            continue
        assert metadata[name].startswith(ISSUER), name
        try:
            resolve(urlsplit(metadata[name]).path)
        except Resolver404:
            pytest.fail(f"{name} {metadata[name]} is not served")
    jwks = oauth.http.get(urlsplit(metadata["jwks_uri"]).path).json()
    assert [key["kid"] for key in jwks["keys"]] == [holder_kid()]
    assert all("d" not in key for key in jwks["keys"])


def test_revoked_access_token_no_longer_authenticates(oauth, tpp):
    token = oauth.client_credentials()
    v4 = PaymentsV4(tpp=tpp, token=token)
    v4.create_consent(consent_data())
    response = oauth.post_form("/auth/token/revoke", {"token": token, "token_type_hint": "access_token"})
    assert response.status_code == 200
    response = tpp.post("/open-banking/payments/v4/consents", {"data": consent_data()}, token=token)
    assert response.status_code == 401
    assert_response_matches_spec(response, path="/consents", method="post")
    # unknown tokens are not an error (RFC 7009 §2.2)
    assert oauth.post_form("/auth/token/revoke", {"token": "nope"}).status_code == 200


def test_revoked_refresh_token_cannot_refresh(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    tokens = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()
    refresh = tokens["refresh_token"]
    assert oauth.post_form("/auth/token/revoke", {"token": refresh}).status_code == 200
    # the access token of the same grant is revoked with it (RFC 7009 §2.1)
    assert AccessToken.objects.get(token_hash=token_hash(tokens["access_token"])).revoked_at is not None
    response = oauth.post_form("/auth/token", {"grant_type": "refresh_token", "refresh_token": refresh})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_introspection_only_of_own_live_tokens(oauth, other_tpp):
    token = oauth.client_credentials()
    body = oauth.post_form("/auth/token/introspect", {"token": token}).json()
    assert body["active"] is True
    assert body["client_id"] == oauth.client_id
    assert body["scope"] == "payments"
    other = OAuthTpp(actor=other_tpp, http=oauth.http)
    assert other.post_form("/auth/token/introspect", {"token": token}).json() == {"active": False}
    oauth.post_form("/auth/token/revoke", {"token": token})
    assert oauth.post_form("/auth/token/introspect", {"token": token}).json() == {"active": False}
    unauthenticated = oauth.post_form("/auth/token/introspect", {"token": token}, authenticate=False)
    assert unauthenticated.status_code == 401


@override_settings(OPUSOF_MTLS_REQUIRED=True)
def test_certificate_bound_tokens(oauth, tpp, rsa_keys):
    # without a certificate the token endpoint refuses the client
    response = oauth.post_form("/auth/token", {"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    cert, _ = certificate(rsa_keys[2], "tpp-one")
    other_cert, _ = certificate(rsa_keys[3], "someone-else")
    oauth.cert_header = {"X-SSL-Client-Cert": cert}
    token = oauth.client_credentials()
    assert AccessToken.objects.get(token_hash=token_hash(token)).cert_thumbprint
    v4_headers = {"X-SSL-Client-Cert": cert}
    response = tpp.post("/open-banking/payments/v4/consents", {"data": consent_data()}, token=token, headers=v4_headers)
    assert response.status_code == 201
    response = tpp.post(
        "/open-banking/payments/v4/consents",
        {"data": consent_data()},
        token=token,
        headers={"X-SSL-Client-Cert": other_cert},
    )
    assert response.status_code == 401
    assert_response_matches_spec(response, path="/consents", method="post")


def test_tls_client_auth(oauth, tpp, rsa_keys):
    cert, subject = certificate(rsa_keys[2], "tpp-one")
    wrong, _ = certificate(rsa_keys[3], "tpp-impostor")
    ClientAuthSettings.objects.create(
        client=tpp.client, token_endpoint_auth_method="tls_client_auth", tls_client_auth_subject_dn=subject
    )
    form = {"grant_type": "client_credentials", "client_id": tpp.client.client_id}
    ok = oauth.http.post("/auth/token", data=form, headers={"X-SSL-Client-Cert": cert})
    assert ok.status_code == 200, ok.text
    stored = AccessToken.objects.get(token_hash=token_hash(ok.json()["access_token"]))
    assert stored.cert_thumbprint  # bound to the certificate it authenticated with
    refused = oauth.http.post("/auth/token", data=form, headers={"X-SSL-Client-Cert": wrong})
    assert refused.status_code == 401
    assert oauth.http.post("/auth/token", data=form).status_code == 401
    # a client registered for tls_client_auth may not switch to private_key_jwt
    response = oauth.post_form("/auth/token", {"grant_type": "client_credentials"})
    assert response.status_code == 401


def test_client_secret_basic_refused(oauth):
    response = oauth.http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_userinfo_gives_the_id_token_subject(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    tokens = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()
    info = oauth.http.get("/auth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200
    assert info.json() == {"sub": verify_id_token(tokens["id_token"], audience=oauth.client_id)["sub"]}
    assert ANA_CPF not in info.text
    # a client_credentials token has no customer behind it
    other = oauth.http.get("/auth/userinfo", headers={"Authorization": f"Bearer {v4.token}"})
    assert other.status_code == 401
    assert other.headers["www-authenticate"].startswith("Bearer")
