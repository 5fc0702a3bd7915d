"""Writes of the authorisation server up to the code: pushed requests (PAR) and the authorisation response. The token
endpoint's grants, revocation and introspection are in grants.py.

The flow the OFB security profile fixes (FAPI 1.0 Advanced as profiled for Brazil): the TPP pushes a signed request
object (PAR, RFC 9126), the customer authorises at /auth/authorize, the TPP receives ``code`` + ``id_token`` in the
fragment (hybrid flow, FAPI 1 Adv §5.2.2-2) and exchanges the code with PKCE (RFC 7636, S256) for an access token
bound to the consent named in the scope and to its certificate (RFC 8705). Three products use this flow, one consent
journey each (journeys.py):
payments v4 (``openid payments consent:{consentId}``), automatic payments v2 (``openid recurring-payments
recurring-consent:{recurringConsentId}``, automatic-payments-2.0.0.yml security OAuth2AuthorizationCode) and
enrollments v2 (``openid payments enrollment:{enrollmentId}``, enrollments-2.1.0.yml fido-registration security).
"""

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from opusof.authserver import endpoints
from opusof.authserver.clientauth import verify_client_jwt
from opusof.authserver.errors import OAuthError, invalid_request_object
from opusof.authserver.journeys import CONSENT, ENROLLMENT, JOURNEYS, RECURRING_CONSENT, ConsentJourney
from opusof.authserver.models import AuthorisationCode, PushedAuthorisationRequest
from opusof.keys import holder_kid, holder_private_key
from opusof.models import TppClient
from opusof.tokens import token_hash

ALGORITHM = "PS256"
RESPONSE_TYPE = "code id_token"
# JARM (FAPI 1 Adv §5.2.2-2 alternative; OFB profile §5.2.2 item 16 "pode suportar"): response_type=code with
# response_mode=jwt, the authorisation response signed as one JWT in the query (JARM §4.3.1 query.jwt).
JARM_RESPONSE_TYPE = "code"
JARM_RESPONSE_MODE = "jwt"
JARM_TTL_SECONDS = 300
PAR_TTL_SECONDS = 90  # RFC 9126 §2.2: short; OFB suite expects 5 < expires_in < 600
CODE_TTL_SECONDS = 60  # RFC 6749 §4.1.2: "a maximum lifetime of 10 minutes is RECOMMENDED"; we keep it short
ACCESS_TOKEN_TTL_SECONDS = 900
ID_TOKEN_TTL_SECONDS = 300
REFRESH_TOKEN_TTL_SECONDS = 60 * 60 * 24 * 365  # bounded in practice by the consent (payments v4: consumed once)
# FAPI 1 Adv §5.2.2-13 and -17: the request object lives at most 60 min (exp - nbf), nbf at most 60 min ago.
REQUEST_OBJECT_MAX_LIFETIME_SECONDS = 3600
ACR = "urn:brasil:openbanking:loa2"
PAYMENTS = "payments"
RECURRING_PAYMENTS = "recurring-payments"
# client_credentials serves consent creation and GETs of both products (each spec's OAuth2ClientCredentials).
CLIENT_CREDENTIALS_SCOPES = frozenset({PAYMENTS, RECURRING_PAYMENTS})
_URN = r"(?P<id>urn:[a-zA-Z0-9][a-zA-Z0-9-]{0,31}:[a-zA-Z0-9()+,\-.:=@;$_!*'%/?#]+)"
CONSENT_SCOPE = re.compile(rf"^consent:{_URN}$")
RECURRING_CONSENT_SCOPE = re.compile(rf"^recurring-consent:{_URN}$")
ENROLLMENT_SCOPE = re.compile(rf"^enrollment:{_URN}$")
# What a customer authorises, named by one dynamic scope, and the static scope that goes with it.
DYNAMIC_SCOPES = {
    CONSENT: (CONSENT_SCOPE, PAYMENTS),
    RECURRING_CONSENT: (RECURRING_CONSENT_SCOPE, RECURRING_PAYMENTS),
    ENROLLMENT: (ENROLLMENT_SCOPE, PAYMENTS),
}
# Scopes an authorisation may carry beside its static one: an enrollment's journey asks for nrp-consents so that
# its (refreshed) tokens later authorise consents and create payments without redirect (enrollments-2.1.0.yml
# authorizeConsent and payments-4.0.0.yml POST /pix/payments: openid enrollment:{id} payments nrp-consents).
NRP_CONSENTS = "nrp-consents"
OPTIONAL_SCOPES: dict[str, frozenset[str]] = {ENROLLMENT: frozenset({NRP_CONSENTS})}
_PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def half_hash(value: str) -> str:
    """OIDC Core §3.3.2.11 ``c_hash``/``s_hash``/``at_hash``: left half of the SHA-256 (the PS256 hash), base64url."""
    return _b64url(hashlib.sha256(value.encode("ascii")).digest()[:16])


def pkce_s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def subject_for(client: TppClient, document: str) -> str:
    """Pairwise subject (OIDC Core §8.1): stable per customer and TPP organisation, revealing no CPF."""
    key = str(settings.SECRET_KEY).encode("utf-8")
    return hmac.new(key, f"{client.organisation_id}\x00{document}".encode(), hashlib.sha256).hexdigest()


# --- PAR -------------------------------------------------------------------------------------------------------------


def verify_request_object(token: str, *, client: TppClient) -> dict[str, Any]:
    """The claims of a signed request object (RFC 9101; FAPI 1 Adv §5.2.2-1, -10, -13, -17), PS256 only."""
    claims = verify_client_jwt(
        token,
        client=client,
        audience=endpoints.issuer(),
        require=("exp", "nbf"),
        what="request object",
        refuse=invalid_request_object,
    )
    if float(claims["exp"]) - float(claims["nbf"]) > REQUEST_OBJECT_MAX_LIFETIME_SECONDS:
        raise invalid_request_object("Request object com validade (exp - nbf) acima de 60 minutos.")
    if time.time() - float(claims["nbf"]) > REQUEST_OBJECT_MAX_LIFETIME_SECONDS:
        raise invalid_request_object("nbf do request object mais de 60 minutos no passado.")
    if claims.get("client_id", client.client_id) != client.client_id:
        raise invalid_request_object("client_id do request object diverge do cliente autenticado.")
    return claims


def _str_claim(claims: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = claims.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > 512:
        raise invalid_request_object(f"Parâmetro {name} ausente ou inválido no request object.")
    return value


def authorisation_target(scopes: list[str]) -> tuple[str, str]:
    """``(kind, id)`` of the one thing being authorised: ``consent:{consentId}`` (payments v4),
    ``recurring-consent:{recurringConsentId}`` (automatic payments v2) or ``enrollment:{enrollmentId}`` (enrollments
    v2), with ``openid`` and that product's static scope beside it, and nothing else but OPTIONAL_SCOPES."""
    found = [
        (kind, match.group("id"))
        for scope in scopes
        for kind, (pattern, _) in DYNAMIC_SCOPES.items()
        if (match := pattern.match(scope))
    ]
    if len(found) != 1:
        raise OAuthError("invalid_scope", "O escopo deve conter exatamente um consentimento ou vínculo ({tipo}:{id}).")
    kind, target_id = found[0]
    static = DYNAMIC_SCOPES[kind][1]
    if "openid" not in scopes or static not in scopes:
        raise OAuthError("invalid_scope", f"O escopo deve conter openid e {static}.")
    if set(scopes) - {"openid", static, f"{kind}:{target_id}", *OPTIONAL_SCOPES.get(kind, ())}:
        raise OAuthError("invalid_scope", "Escopo não permitido para esta autorização.")
    return kind, target_id


def journey_for(scopes: list[str]) -> ConsentJourney[Any]:
    """The consent journey (opusof.authserver.journeys) of the one thing these scopes authorise."""
    return JOURNEYS[authorisation_target(scopes)[0]]


def consent_id_from_scopes(scopes: list[str]) -> str:
    """The id named by the authorisation's one dynamic scope (see authorisation_target)."""
    return authorisation_target(scopes)[1]


def _awaiting_authorisation(*, client: TppClient, scopes: list[str], consent_id: str) -> None:
    """The named consent (or enrollment) is the client's and awaits the customer."""
    journey = journey_for(scopes)
    row = journey.find(client=client, target_id=consent_id)
    if row is None:
        raise invalid_request_object(f"{journey.not_found.removesuffix('.')} para este cliente.")
    if not journey.awaits_customer(row):
        raise invalid_request_object(f"Consentimento está {row.status}; não aguarda autorização.")


@transaction.atomic
def par_create(*, client: TppClient, claims: dict[str, Any]) -> PushedAuthorisationRequest:
    """Validates an authorisation request pushed by ``client`` and stores it for the authorize endpoint."""
    response_type = _str_claim(claims, "response_type")
    if response_type not in (RESPONSE_TYPE, JARM_RESPONSE_TYPE):
        raise OAuthError("unsupported_response_type", f"response_type suportado: {RESPONSE_TYPE} ou code (JARM).")
    if "id_token_hint" in claims:
        # OFB security profile §5.2.2 item 21: an id_token may carry PII the client would send in clear.
        raise invalid_request_object("id_token_hint não é aceito.")
    response_mode = _str_claim(claims, "response_mode", required=False)
    if response_type == RESPONSE_TYPE and response_mode not in ("", "fragment"):
        raise invalid_request_object("Com code id_token o response_mode é fragment.")
    if response_type == JARM_RESPONSE_TYPE and response_mode != JARM_RESPONSE_MODE:
        # FAPI 1 Adv §5.2.2-2: a plain code response is unprotected; only JARM makes response_type=code acceptable.
        raise invalid_request_object("response_type=code exige response_mode=jwt (JARM).")
    redirect_uri = _str_claim(claims, "redirect_uri")
    # Exact string match against a registered URI (FAPI 1 Adv §5.2.2-8, RFC 9700 §4.1.3).
    if redirect_uri not in client.redirect_uris:
        raise invalid_request_object("redirect_uri não registrado pelo cliente.")
    scopes = _str_claim(claims, "scope").split()
    kind, consent_id = authorisation_target(scopes)
    if not {"openid", DYNAMIC_SCOPES[kind][1]} <= set(client.scopes or ["openid", PAYMENTS]):
        raise OAuthError("invalid_scope", "Escopo não permitido para este cliente.")
    # required by the hybrid flow (OIDC Core §3.3.2.11); optional with JARM, whose state is the signed response
    nonce = _str_claim(claims, "nonce", required=response_type == RESPONSE_TYPE)
    state = _str_claim(claims, "state", required=False)
    if claims.get("code_challenge_method") != "S256":
        raise invalid_request_object("code_challenge_method deve ser S256 (PKCE obrigatório).")
    code_challenge = _str_claim(claims, "code_challenge")
    if not _PKCE_CHALLENGE.match(code_challenge):
        raise invalid_request_object("code_challenge inválido.")
    _awaiting_authorisation(client=client, scopes=scopes, consent_id=consent_id)
    return PushedAuthorisationRequest.objects.create(
        request_uri="urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(32),
        client=client,
        consent_id=consent_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        nonce=nonce,
        code_challenge=code_challenge,
        response_type=response_type,
        response_mode=response_mode,
        expires_at=timezone.now() + dt.timedelta(seconds=PAR_TTL_SECONDS),
    )


@transaction.atomic
def par_redeem(*, client_id: str, request_uri: str) -> PushedAuthorisationRequest | None:
    """The pushed request for the authorize endpoint, once (RFC 9126 §4: one-time use), or None."""
    par = (
        PushedAuthorisationRequest.objects.select_for_update()
        .select_related("client")
        .filter(request_uri=request_uri, client__client_id=client_id)
        .first()
    )
    if par is None or par.used_at is not None or par.expires_at <= timezone.now() or not par.client.is_active:
        return None
    par.used_at = timezone.now()
    par.save(update_fields=["used_at"])
    return par


# --- Authorisation response ------------------------------------------------------------------------------------------


def id_token_sign(
    *,
    client: TppClient,
    subject: str,
    nonce: str,
    auth_time: dt.datetime,
    code: str | None = None,
    state: str | None = None,
    access_token: str | None = None,
) -> str:
    """An ID token (OIDC Core §2) signed PS256 with our key; ``c_hash``/``s_hash`` for the front-channel one
    (FAPI 1 Adv §5.2.2-4: the id_token is the detached signature of the authorisation response)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": endpoints.issuer(),
        "sub": subject,
        "aud": client.client_id,
        "iat": now,
        "exp": now + ID_TOKEN_TTL_SECONDS,
        "auth_time": int(auth_time.timestamp()),
        "acr": ACR,
    }
    if nonce:
        claims["nonce"] = nonce
    if code is not None:
        claims["c_hash"] = half_hash(code)
    if state:
        claims["s_hash"] = half_hash(state)
    if access_token is not None:
        claims["at_hash"] = half_hash(access_token)
    return jwt.encode(claims, holder_private_key(), algorithm=ALGORITHM, headers={"kid": holder_kid(), "typ": "JWT"})


@dataclass(frozen=True)
class AuthorisationResponse:
    redirect_uri: str
    params: dict[str, str]
    in_query: bool = False  # JARM query.jwt; the hybrid flow answers in the fragment

    def location(self) -> str:
        if self.in_query:
            separator = "&" if "?" in self.redirect_uri else "?"
            return f"{self.redirect_uri}{separator}{urlencode(self.params)}"
        return f"{self.redirect_uri}#{urlencode(self.params)}"


def _jarm(par: PushedAuthorisationRequest, params: dict[str, str]) -> AuthorisationResponse:
    """JARM §2.1: the response parameters as one PS256 JWT from us to the client."""
    now = int(time.time())
    claims = {"iss": endpoints.issuer(), "aud": par.client.client_id, "exp": now + JARM_TTL_SECONDS, **params}
    token = jwt.encode(claims, holder_private_key(), algorithm=ALGORITHM, headers={"kid": holder_kid(), "typ": "JWT"})
    return AuthorisationResponse(par.redirect_uri, {"response": token}, in_query=True)


def authorisation_success(
    *, par: PushedAuthorisationRequest, customer_document: str, auth_time: dt.datetime
) -> AuthorisationResponse:
    """Issues the code for an approved consent and the front-channel ``code id_token`` response."""
    code = secrets.token_urlsafe(32)
    subject = subject_for(par.client, customer_document)
    AuthorisationCode.objects.create(
        code_hash=token_hash(code),
        client=par.client,
        consent_id=par.consent_id,
        redirect_uri=par.redirect_uri,
        scopes=par.scopes,
        nonce=par.nonce,
        code_challenge=par.code_challenge,
        subject=subject,
        auth_time=auth_time,
        expires_at=timezone.now() + dt.timedelta(seconds=CODE_TTL_SECONDS),
    )
    if par.response_mode == JARM_RESPONSE_MODE:
        return _jarm(par, {"code": code, **({"state": par.state} if par.state else {})})
    id_token = id_token_sign(
        client=par.client, subject=subject, nonce=par.nonce, auth_time=auth_time, code=code, state=par.state
    )
    params = {"code": code, "id_token": id_token}
    if par.state:
        params["state"] = par.state
    return AuthorisationResponse(par.redirect_uri, params)


def authorisation_error(*, par: PushedAuthorisationRequest, error: str, description: str) -> AuthorisationResponse:
    params = {"error": error, "error_description": description}
    if par.state:
        params["state"] = par.state
    if par.response_mode == JARM_RESPONSE_MODE:
        return _jarm(par, params)
    return AuthorisationResponse(par.redirect_uri, params)
