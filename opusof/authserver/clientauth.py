"""Client authentication at the token, PAR, revocation and introspection endpoints (FAPI 1.0 Advanced §5.2.2-14:
``private_key_jwt`` or ``tls_client_auth`` only; OFB security profile §7.1: PS256), and the client certificate the
TLS-terminating proxy forwards (RFC 8705)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from django.conf import settings
from django.http import HttpRequest

from opusof.api.authentication import certificate_thumbprint
from opusof.authserver import endpoints
from opusof.authserver.errors import OAuthError, invalid_client, invalid_request
from opusof.authserver.models import ClientAuthSettings
from opusof.jose import JwksUnavailable, JwsClaimInvalid, JwsRejected, client_key, unverified_claims, verify_jws
from opusof.models import TppClient, UsedJti
from opusof.replay import jti_first_use

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# A client assertion is a one-shot credential; one valid for longer than this is refused (replay window).
MAX_ASSERTION_LIFETIME_SECONDS = 600
CLOCK_LEEWAY_SECONDS = 10


@dataclass(frozen=True)
class ClientCertificate:
    thumbprint: str  # x5t#S256 (RFC 8705 §3.1)
    subject_dn: str  # RFC 4514


def form_params(request: HttpRequest) -> dict[str, str]:
    """The form body as single values; a parameter sent twice is an error (RFC 6749 §3.1, §3.2)."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise invalid_request("O corpo deve ser application/x-www-form-urlencoded.")
    params: dict[str, str] = {}
    for name, values in request.POST.lists():
        if len(values) != 1:
            raise invalid_request(f"Parâmetro {name} repetido.")
        params[name] = values[0]
    return params


def client_certificate(request: HttpRequest) -> ClientCertificate | None:
    """The certificate forwarded in OPUSOF_CLIENT_CERT_HEADER (URL-encoded PEM), or None."""
    meta_key = "HTTP_" + settings.OPUSOF_CLIENT_CERT_HEADER.upper().replace("-", "_")
    forwarded = request.META.get(meta_key)
    if not isinstance(forwarded, str) or not forwarded:
        return None
    thumbprint = certificate_thumbprint(forwarded)
    if thumbprint is None:
        return None
    try:
        cert = x509.load_pem_x509_certificate(unquote(forwarded).encode("ascii"))
    except ValueError:
        return None
    return ClientCertificate(thumbprint=thumbprint, subject_dn=cert.subject.rfc4514_string())


def required_certificate(request: HttpRequest) -> ClientCertificate | None:
    """The client certificate; when mTLS is required (production) its absence fails client authentication."""
    cert = client_certificate(request)
    if cert is None and settings.OPUSOF_MTLS_REQUIRED:
        raise invalid_client("Certificado de cliente (mTLS) ausente ou inválido.")
    return cert


def _auth_method(client: TppClient) -> str:
    auth = ClientAuthSettings.objects.filter(client=client).first()
    return auth.token_endpoint_auth_method if auth else ClientAuthSettings.AuthMethod.PRIVATE_KEY_JWT


def _active_client(client_id: str) -> TppClient:
    client = TppClient.objects.filter(client_id=client_id).first()
    if client is None or not client.is_active:
        raise invalid_client("Cliente desconhecido ou desabilitado.")
    return client


def verify_client_jwt(
    token: str,
    *,
    client: TppClient,
    audience: str | list[str],
    require: tuple[str, ...],
    what: str,
    refuse: Callable[[str], OAuthError],
) -> dict[str, Any]:
    """The claims of a JWT ``client`` signed for the authorisation server (a client assertion, a request object):
    PS256 by a key of its JWKS, ``iss`` its client_id, ``aud`` one of ``audience``, the ``require``d claims present,
    ``exp``/``nbf`` holding within the clock leeway (opusof.jose.verify_jws); ``refuse(description)`` otherwise,
    the description naming ``what`` was refused."""
    try:
        return verify_jws(
            token,
            key_for=lambda kid: client_key(client, kid),
            issuer=client.client_id,
            audience=audience,
            require=require,
            leeway_seconds=CLOCK_LEEWAY_SECONDS,
        )
    except JwksUnavailable as exc:
        raise refuse("JWKS do cliente indisponível.") from exc
    except JwsClaimInvalid as exc:
        raise refuse(f"{exc.claim} do {what} ausente, inválido ou expirado.") from exc
    except JwsRejected as exc:
        raise refuse(f"{what} inválido: {exc}") from exc


def _private_key_jwt(assertion: str, client_id_param: str, endpoint_url: str) -> TppClient:
    """RFC 7523 §3 / OIDC Core §9: iss = sub = client_id, aud the issuer or the endpoint, exp, single-use jti."""
    try:
        issuer = unverified_claims(assertion).get("iss")
    except JwsRejected as exc:
        raise invalid_client("client_assertion malformado.") from exc
    if not isinstance(issuer, str) or (client_id_param and client_id_param != issuer):
        raise invalid_client("client_id e iss do client_assertion divergem.")
    client = _active_client(issuer)
    if _auth_method(client) != ClientAuthSettings.AuthMethod.PRIVATE_KEY_JWT:
        raise invalid_client("Método de autenticação diferente do registrado pelo cliente.")
    claims = verify_client_jwt(
        assertion,
        client=client,
        audience=[endpoints.issuer(), endpoints.url("token"), endpoint_url],
        require=("sub", "exp", "jti"),
        what="client_assertion",
        refuse=invalid_client,
    )
    if claims["sub"] != client.client_id:
        raise invalid_client("sub do client_assertion deve ser o client_id.")
    remaining = float(claims["exp"]) - time.time()
    if remaining > MAX_ASSERTION_LIFETIME_SECONDS:
        raise invalid_client("client_assertion com validade longa demais.")
    # Atomic across processes, kept across a Redis restart: an assertion cannot authenticate twice (RFC 7523 §3
    # item 7). Remembered for as long as it could still be accepted.
    ttl = max(remaining, 0) + CLOCK_LEEWAY_SECONDS + 1
    if not jti_first_use(
        scope=UsedJti.Scope.CLIENT_ASSERTION, issuer=client.client_id, jti=claims["jti"], ttl_seconds=ttl
    ):
        raise invalid_client("jti do client_assertion já utilizado.")
    return client


def _tls_client_auth(client_id: str, cert: ClientCertificate | None) -> TppClient:
    """RFC 8705 §2.1: the certificate's subject DN is the one the client registered."""
    client = _active_client(client_id)
    auth = ClientAuthSettings.objects.filter(client=client).first()
    if auth is None or auth.token_endpoint_auth_method != ClientAuthSettings.AuthMethod.TLS_CLIENT_AUTH:
        raise invalid_client("Cliente não registrado para tls_client_auth; use private_key_jwt.")
    if cert is None or not auth.tls_client_auth_subject_dn or cert.subject_dn != auth.tls_client_auth_subject_dn:
        raise invalid_client("Certificado de cliente não corresponde ao registrado.")
    return client


def authenticate_client(request: HttpRequest, params: dict[str, str], *, endpoint_url: str) -> TppClient:
    """The client this request authenticates as, or ``invalid_client`` (401). Never both methods at once."""
    cert = required_certificate(request)
    assertion = params.get("client_assertion", "")
    assertion_type = params.get("client_assertion_type", "")
    if request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("basic "):
        raise invalid_client("client_secret não é aceito (FAPI); use private_key_jwt ou tls_client_auth.")
    if assertion or assertion_type:
        if assertion_type != ASSERTION_TYPE or not assertion:
            raise invalid_client(f"client_assertion_type deve ser {ASSERTION_TYPE}.")
        return _private_key_jwt(assertion, params.get("client_id", ""), endpoint_url)
    client_id = params.get("client_id", "")
    if not client_id:
        raise invalid_client("Autenticação do cliente ausente.")
    return _tls_client_auth(client_id, cert)


def cert_thumbprint_for_binding(cert: ClientCertificate | None) -> str:
    """RFC 8705 §3: tokens are bound to the certificate presented at the token endpoint, when there is one."""
    return cert.thumbprint if cert else ""
