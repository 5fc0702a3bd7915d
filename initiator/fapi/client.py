"""HTTP to one holder: discovery, its keys, DCR/DCM, the token and PAR endpoints, and the regulated resource API.

Every call has explicit connect/read timeouts, an ``x-fapi-interaction-id``, the client certificate when one is
configured (OFB security profile: mutual TLS) and leaves a ``CallTrace`` for the caller to record. A call that
carries an ``x-idempotency-key`` is retried with the same key (the holder deduplicates on it), so a lost answer
never becomes a second payment.
"""

import functools
import json
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.core.cache import cache

from initiator.fapi import jose
from opusof.jose import parse_jwks

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT = "application/jwt"
DISCOVERY_CACHE_SECONDS = 3600
JWKS_CACHE_SECONDS = 900
JWKS_REFETCH_SECONDS = 10
# Attempts of a call that is safe to repeat (a GET, or anything with an idempotency key), and the pause between.
ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.2


@dataclass(frozen=True)
class CallTrace:
    operation: str
    method: str
    url: str
    interaction_id: str
    idempotency_key: str
    status_code: int | None
    latency_ms: int
    error: str = ""


class HolderUnavailable(Exception):
    """No usable answer: the holder timed out, refused the connection or answered 5xx (after the retries)."""

    def __init__(self, message: str, *, url: str, timeout: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.timeout = timeout
        self.status_code = status_code


class HolderAnswerInvalid(Exception):
    """The holder answered, but not as the spec requires (unsigned, bad signature, not JSON)."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class OAuthRefused(Exception):
    """An OAuth endpoint answered with an RFC 6749 error."""

    def __init__(self, error: str, description: str, *, status_code: int, url: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status_code = status_code
        self.url = url


@dataclass(frozen=True)
class HolderAnswer:
    status_code: int
    body: dict[str, Any]
    interaction_id: str
    url: str
    version: str = ""


@functools.cache
def _tls_context(cert: str, key: str, ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle or None)
    if cert:
        context.load_cert_chain(cert, key or None)
    return context


@functools.cache
def _pooled(cert: str, key: str, ca_bundle: str, read: float, connect: float) -> httpx.Client:
    """One connection pool per process and TLS configuration: keep-alive connections to the holders are reused
    (a new TLS handshake per call was most of the gateway's own cost)."""
    return httpx.Client(
        timeout=httpx.Timeout(read, connect=connect),
        verify=_tls_context(cert, key, ca_bundle),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20, keepalive_expiry=30),
    )


def _http() -> httpx.Client:
    return _pooled(
        settings.INITIATOR_MTLS_CERT_PATH,
        settings.INITIATOR_MTLS_KEY_PATH,
        settings.INITIATOR_CA_BUNDLE,
        float(settings.INITIATOR_HTTP_READ_TIMEOUT),
        float(settings.INITIATOR_HTTP_CONNECT_TIMEOUT),
    )


@dataclass
class FapiClient:
    """One holder's authorisation server and APIs, as one registered client of ours (``client_id``)."""

    discovery_url: str
    organisation_id: str
    client_id: str = ""
    on_call: Callable[[CallTrace], None] = field(default=lambda trace: None)

    # --- transport ------------------------------------------------------------------------------------------------

    def _send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: str | bytes | None = None,
        data: dict[str, str] | None = None,
        idempotency_key: str = "",
        repeatable: bool = False,
        interaction_id: str = "",
    ) -> httpx.Response:
        attempts = ATTEMPTS if (repeatable or idempotency_key or method == "GET") else 1
        last: HolderUnavailable | None = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(RETRY_PAUSE_SECONDS)
            # The caller's interaction id on the first attempt (the application's, for correlation end to end).
            sent_id = (not attempt and interaction_id) or str(uuid.uuid4())
            request_headers = {**(headers or {}), "x-fapi-interaction-id": sent_id}
            if idempotency_key:
                request_headers["x-idempotency-key"] = idempotency_key
            started = time.monotonic()
            try:
                response = _http().request(method, url, headers=request_headers, content=content, data=data)
            except httpx.HTTPError as exc:
                latency = int((time.monotonic() - started) * 1000)
                error = f"{type(exc).__name__}: {exc}"[:1024]
                self.on_call(CallTrace(operation, method, url, sent_id, idempotency_key, None, latency, error))
                last = HolderUnavailable(error, url=url, timeout=isinstance(exc, httpx.TimeoutException))
                continue
            latency = int((time.monotonic() - started) * 1000)
            self.on_call(CallTrace(operation, method, url, sent_id, idempotency_key, response.status_code, latency))
            if response.status_code >= 500:
                last = HolderUnavailable(
                    f"HTTP {response.status_code}", url=url, timeout=False, status_code=response.status_code
                )
                continue
            return response
        assert last is not None
        raise last

    # --- discovery and keys ---------------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """The holder's OpenID configuration (cached; OIDC Discovery §4)."""
        cache_key = f"initiator:discovery:{self.discovery_url}"
        cached = cache.get(cache_key)
        if isinstance(cached, dict):
            return cached
        response = self._send("discovery", "GET", self.discovery_url)
        try:
            document = response.json()
        except ValueError as exc:
            raise HolderAnswerInvalid("Documento de descoberta não é JSON.", url=self.discovery_url) from exc
        if response.status_code != 200 or not isinstance(document, dict) or "issuer" not in document:
            raise HolderAnswerInvalid("Documento de descoberta inválido.", url=self.discovery_url)
        cache.set(cache_key, document, timeout=DISCOVERY_CACHE_SECONDS)
        return document

    def _jwks(self, *, refresh: bool) -> dict[str, RSAPublicKey]:
        uri = str(self.metadata()["jwks_uri"])
        cache_key = f"initiator:jwks:{uri}"
        document = None if refresh else cache.get(cache_key)
        if document is None:
            response = self._send("jwks", "GET", uri)
            try:
                document = response.json()
                keys = parse_jwks(document)
            except ValueError as exc:
                raise HolderAnswerInvalid("JWKS da detentora inválido.", url=uri) from exc
            cache.set(cache_key, document, timeout=JWKS_CACHE_SECONDS)
            return keys
        return parse_jwks(document)

    def holder_key(self, token: str) -> RSAPublicKey:
        """The holder's key for the ``kid`` of ``token``; an unknown kid refetches the JWKS once (key rotation)."""
        kid = jose.kid_of(token)
        key = self._jwks(refresh=False).get(kid)
        # An unknown kid refetches at most once per JWKS_REFETCH_SECONDS, so forged kids cannot make us hammer it.
        if key is None and cache.add(f"initiator:jwks-refetch:{self.discovery_url}", 1, timeout=JWKS_REFETCH_SECONDS):
            key = self._jwks(refresh=True).get(kid)
        if key is None:
            raise jose.HolderSignatureInvalid("kid desconhecido no JWKS da detentora.")
        return key

    @property
    def issuer(self) -> str:
        return str(self.metadata()["issuer"])

    # --- OAuth ----------------------------------------------------------------------------------------------------

    def _oauth_json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise HolderAnswerInvalid(
                f"Resposta OAuth não é JSON (HTTP {response.status_code}).", url=str(response.url)
            ) from exc
        if not isinstance(body, dict):
            raise HolderAnswerInvalid("Resposta OAuth não é um objeto.", url=str(response.url))
        if response.status_code >= 400:
            raise OAuthRefused(
                str(body.get("error", "invalid_request")),
                str(body.get("error_description", "")),
                status_code=response.status_code,
                url=str(response.url),
            )
        return body

    def _authenticated_form(self, operation: str, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        url = str(self.metadata()[endpoint])
        form = {
            **params,
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jose.client_assertion(client_id=self.client_id, audience=self.issuer),
        }
        return self._oauth_json(self._send(operation, "POST", url, data=form))

    def client_credentials(self, scope: str) -> dict[str, Any]:
        return self._authenticated_form("token", "token_endpoint", {"grant_type": "client_credentials", "scope": scope})

    def exchange_code(self, *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return self._authenticated_form("token", "token_endpoint", params)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._authenticated_form("token", "token_endpoint", params)

    def pushed_authorisation(self, params: dict[str, Any]) -> str:
        """PAR (RFC 9126) with a signed request object; returns the authorisation URL to send the customer to."""
        signed = jose.request_object(client_id=self.client_id, issuer=self.issuer, params=params)
        body = self._authenticated_form("par", "pushed_authorization_request_endpoint", {"request": signed})
        query = urlencode({"client_id": self.client_id, "request_uri": body["request_uri"]})
        return f"{self.metadata()['authorization_endpoint']}?{query}"

    # --- registration (RFC 7591 / 7592) -----------------------------------------------------------------------------

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        url = str(self.metadata()["registration_endpoint"])
        response = self._send(
            "dcr", "POST", url, headers={"content-type": "application/json"}, content=json.dumps(body)
        )
        return self._oauth_json(response)

    def registration_update(self, *, uri: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        return self._oauth_json(self._send("dcm", "PUT", uri, headers=headers, content=json.dumps(body)))

    # --- regulated resource API -------------------------------------------------------------------------------------

    def api(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        token: str,
        data: dict[str, Any] | None = None,
        idempotency_key: str = "",
        interaction_id: str = "",
        customer_headers: dict[str, str] | None = None,
    ) -> HolderAnswer:
        """A payments API call: the body signed (aud the URL called), the answer verified. 2xx and 422 answers
        must be signed JWS (payments v4: ``application/jwt``); other errors are the spec's plain JSON."""
        headers = {**(customer_headers or {}), "authorization": f"Bearer {token}", "accept": JWT}
        content = None
        if data is not None:
            headers["content-type"] = JWT
            content = jose.sign_body(data, audience=url)
        response = self._send(
            operation,
            method,
            url,
            headers=headers,
            content=content,
            idempotency_key=idempotency_key,
            interaction_id=interaction_id,
        )
        answer_id = response.headers.get("x-fapi-interaction-id", "")
        version = response.headers.get("x-v", "")
        signed = response.headers.get("content-type", "").startswith(JWT)
        if response.status_code == 204 and not response.content:
            # enrollments v2 (risk-signals, fido-registration, authorise, PATCH): no content, nothing to sign.
            body: dict[str, Any] = {}
        elif signed:
            key = self.holder_key(response.text)
            claims = jose.verify_holder_body(response.text, key=key, holder_organisation_id=self.organisation_id)
            body = {k: v for k, v in claims.items() if k not in ("iss", "aud", "iat", "jti")}
        elif 200 <= response.status_code < 300 or response.status_code == 422:
            raise HolderAnswerInvalid(f"Resposta HTTP {response.status_code} sem assinatura.", url=url)
        else:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
        return HolderAnswer(response.status_code, body, answer_id, url, version)
