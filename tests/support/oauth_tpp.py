"""A TPP's OAuth side as the tests drive it: client assertions, request objects, PAR, token calls, and a customer
clicking through the consent pages — over any httpx transport (in-process WSGI or a live server).

    oauth = OAuthTpp(actor=tpp, http=wsgi_http())
    token = oauth.client_credentials()
    flow = oauth.start(consent_id)             # PAR + GET /auth/authorize
    location = customer_approves(oauth.http, flow.authorize_url, cpf=ANA_CPF, account="10000001")
"""

import base64
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from opusof.keys import holder_public_jwks
from tests.support.tpp import DROP, TppActor

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = settings.OPUSOF_BASE_URL
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _in_test_transaction(handler: WSGIHandler) -> Any:
    """Django's own test client keeps the test's database connection open across requests; so does this."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            result = handler(environ, start_response)
            try:
                return list(result)
            finally:
                result.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return app


def wsgi_http() -> httpx.Client:
    """The whole Django stack in-process (middleware, sessions, CSRF), over real HTTP semantics."""
    return httpx.Client(
        transport=httpx.WSGITransport(app=_in_test_transaction(WSGIHandler())), base_url="http://testserver"
    )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def fragment(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).fragment))


def verify_id_token(token: str, *, audience: str) -> dict[str, Any]:
    jwk = holder_public_jwks()["keys"][0]
    claims: dict[str, Any] = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["PS256"], audience=audience, issuer=ISSUER
    )
    return claims


def half_hash(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()[:16]).rstrip(b"=").decode()


@dataclass
class Flow:
    consent_id: str
    verifier: str
    state: str
    nonce: str
    redirect_uri: str
    request_uri: str

    def authorize_url(self, client_id: str) -> str:
        return "/auth/authorize?" + urlencode({"client_id": client_id, "request_uri": self.request_uri})


@dataclass
class OAuthTpp:
    actor: TppActor
    http: httpx.Client
    cert_header: dict[str, str] = field(default_factory=dict)

    @property
    def client_id(self) -> str:
        return self.actor.client.client_id

    # --- client authentication ---------------------------------------------------------------------------------

    def assertion(self, *, aud: str = f"{ISSUER}/auth/token", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        for name, value in overrides.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.actor.sign(claims)

    def post_form(
        self, path: str, data: dict[str, str], *, assertion: str | None = None, authenticate: bool = True
    ) -> httpx.Response:
        body = dict(data)
        if authenticate:
            body.setdefault("client_id", self.client_id)
            body["client_assertion_type"] = ASSERTION_TYPE
            body["client_assertion"] = assertion or self.assertion()
        return self.http.post(path, data=body, headers=self.cert_header)

    # --- grants ------------------------------------------------------------------------------------------------

    def client_credentials(self) -> str:
        response = self.post_form("/auth/token", {"grant_type": "client_credentials", "scope": "payments"})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def request_object(
        self, consent_id: str, *, challenge: str, state: str, nonce: str, redirect_uri: str, **overrides: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "aud": ISSUER,
            "client_id": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            "response_type": "code id_token",
            "redirect_uri": redirect_uri,
            "scope": f"openid payments consent:{consent_id}",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        for name, value in overrides.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def par(self, request_object: str) -> httpx.Response:
        return self.post_form("/auth/par", {"request": request_object}, assertion=self.assertion(aud=ISSUER))

    def start(self, consent_id: str, *, redirect_uri: str | None = None, **overrides: Any) -> Flow:
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        redirect_uri = redirect_uri or self.actor.client.redirect_uris[0]
        claims = self.request_object(
            consent_id, challenge=challenge, state=state, nonce=nonce, redirect_uri=redirect_uri
        )
        for name, value in overrides.items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        response = self.par(self.actor.sign(claims))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
        assert 5 < body["expires_in"] < 600
        return Flow(consent_id, verifier, state, nonce, redirect_uri, body["request_uri"])

    def exchange(self, code: str, flow: Flow, *, verifier: str | None = None) -> httpx.Response:
        return self.post_form(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": flow.redirect_uri,
                "code_verifier": flow.verifier if verifier is None else verifier,
            },
        )


# --- the customer, clicking through the pages without a browser ---------------------------------------------------


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def customer_decides(
    http: httpx.Client,
    authorize_url: str,
    *,
    cpf: str,
    action: str,
    account: str | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """GET /authorize → login → review → approve/deny; returns the final response (a redirect to the TPP)."""
    response = http.get(authorize_url)
    assert response.status_code == 302, response.text
    consent_url = response.headers["location"]
    if consent_url.startswith("/auth/entrar/"):  # not logged in yet in this session
        page = http.get(consent_url)
        assert page.status_code == 200, page.text
        response = http.post(
            consent_url, data={"cpf": cpf, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
        )
        assert response.status_code == 302, response.text
        consent_url = response.headers["location"]
    page = http.get(consent_url)
    assert page.status_code == 200, page.text
    form: dict[str, str] = {"action": action, "csrfmiddlewaretoken": csrf_of(page.text)}
    if account is not None:
        value = re.search(rf'id="account-{account}" value="([^"]+)"', page.text)
        assert value, page.text
        form["account"] = value.group(1)
    return http.post(consent_url, data={**form, **(extra or {})})
