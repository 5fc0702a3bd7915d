"""Bearer-token authentication: ``request.user`` is the TppClient, ``request.auth`` its AccessToken."""

import base64
import hashlib
import hmac
import re
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from django.conf import settings
from django.http import HttpRequest
from rest_framework import exceptions as drf
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from opusof.errors import InvalidCertificate, RegulatedError, Unauthorized
from opusof.models import AccessToken, TppClient
from opusof.tokens import access_token_resolve

_CLIENT_ATTR = "_opusof_client"
_PEM_BODY = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)


class RegulatedAuthenticationFailed(drf.AuthenticationFailed):
    """DRF only resets ``request.user`` on its own exception types, so authentication wraps the regulated error."""

    def __init__(self, error: RegulatedError) -> None:
        super().__init__(error.detail)
        self.error = error


def authenticated_client(request: Request | HttpRequest) -> TppClient | None:
    """The client this request authenticated as, without triggering authentication (safe inside error paths)."""
    http_request = request._request if isinstance(request, Request) else request
    client: TppClient | None = getattr(http_request, _CLIENT_ATTR, None)
    return client


def certificate_thumbprint(forwarded: str) -> str | None:
    """``x5t#S256`` (RFC 8705 §3.1) of a forwarded client certificate: URL-encoded PEM, as TLS terminators send it.

    Whitespace inside the PEM body is ignored, since proxies variously turn its newlines into spaces or tabs.
    """
    match = _PEM_BODY.search(unquote(forwarded))
    if match is None:
        return None
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
        x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def _fail(error: Unauthorized | InvalidCertificate) -> RegulatedAuthenticationFailed:
    return RegulatedAuthenticationFailed(error)


class BearerTokenAuthentication(BaseAuthentication):
    """401 UNAUTHORIZED for a missing/unknown/expired token (payments v4 1.2.2); 401 INVALID_CLIENT when mTLS is
    required and the certificate is not the one the token is bound to (1.2.1)."""

    def authenticate(self, request: Request) -> tuple[TppClient, AccessToken]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise _fail(Unauthorized("Cabeçalho Authorization ausente ou sem token Bearer."))
        token = access_token_resolve(raw.strip())
        if token is None:
            raise _fail(Unauthorized("Token de acesso inválido ou expirado."))
        if settings.OPUSOF_MTLS_REQUIRED:
            self._check_certificate(request, token)
        setattr(request._request, _CLIENT_ATTR, token.client)  # private per-request state
        return token.client, token

    def _check_certificate(self, request: Request, token: AccessToken) -> None:
        meta_key = "HTTP_" + settings.OPUSOF_CLIENT_CERT_HEADER.upper().replace("-", "_")
        forwarded: Any = request.META.get(meta_key)
        thumbprint = certificate_thumbprint(forwarded) if isinstance(forwarded, str) and forwarded else None
        if thumbprint is None:
            raise _fail(InvalidCertificate("Certificado de cliente ausente ou inválido."))
        if not token.cert_thumbprint or not hmac.compare_digest(thumbprint, token.cert_thumbprint):
            raise _fail(InvalidCertificate("O certificado não corresponde ao vinculado ao token (RFC 8705)."))

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="opusof"'


def request_client(request: Request) -> TppClient:
    """``request.user`` typed as what OfbApiView guarantees it is (DRF types it as a Django user)."""
    client = request.user
    if not isinstance(client, TppClient):
        raise Unauthorized("Requisição não autenticada.")
    return client


def request_token(request: Request) -> AccessToken:
    """``request.auth`` typed: the AccessToken the request authenticated with."""
    token = request.auth
    if not isinstance(token, AccessToken):
        raise Unauthorized("Requisição não autenticada.")
    return token


def token_enrollment_id(token: AccessToken) -> str | None:
    """The enrollment a non-redirect token stands for, from its ``enrollment:{enrollmentId}`` scope (payments v4 and
    enrollments v2 security NonRedirectAuthorizationCode / OAuth2AuthorizationCode); None for any other token."""
    return next((scope.removeprefix("enrollment:") for scope in token.scopes if scope.startswith("enrollment:")), None)
