"""Dynamic client registration (RFC 7591) and management (RFC 7592) as the OFB DCR profile uses them: the client
presents a software statement (SSA) signed by the Directory; what the SSA says (organisation, software id, roles,
redirect and webhook URIs, keys) is what gets registered, never what the request body claims beyond it.

Requests are JSON; the management calls carry the registration access token issued at registration (Bearer).
"""

import hmac
import secrets
import time
import uuid
from typing import Any

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from opusof.authserver import endpoints
from opusof.authserver.clientauth import ClientCertificate, required_certificate
from opusof.authserver.directory import ALGORITHM, trusted_keys
from opusof.authserver.errors import OAuthError
from opusof.authserver.models import ClientAuthSettings
from opusof.models import TppClient
from opusof.services import tpp_client_register, tpp_client_set_status
from opusof.tokens import token_hash
from opusof.untrusted import UntrustedInputError, json_loads

# OFB DCR: an SSA older than 5 minutes is refused (Diretório, "DCR", software statement iat).
SSA_MAX_AGE_SECONDS = 300
REQUIRED_ROLE = "PAGTO"  # this server only serves payment initiators
# What each Directory role may ask for here (opusof.authserver.services: the static scope of each consent kind).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {"PAGTO": ("payments", "recurring-payments", "nrp-consents")}
SUPPORTED_AUTH_METHODS = {m.value for m in ClientAuthSettings.AuthMethod}


def available() -> bool:
    return bool(trusted_keys())


def _error(error: str, description: str, status: int = 400) -> OAuthError:
    return OAuthError(error, description, status=status)


def verify_software_statement(ssa: str) -> dict[str, Any]:
    """The SSA's claims, verified with the trusted Directory key: PS256, iss, iat at most 5 minutes old.

    A statement whose signature cannot be verified (malformed, another algorithm, a key the Directory does not have,
    a signature that fails) or whose claims are wrong is ``invalid_software_statement`` (RFC 7591 §3.2.2; the OFB DCR
    certification modules expect it); ``unapproved_software_statement`` is kept for a valid statement of software
    this server does not serve (no PAGTO role)."""
    keys = trusted_keys()
    try:
        header = jwt.get_unverified_header(ssa)
    except (jwt.InvalidTokenError, RecursionError) as exc:  # RecursionError: a header nested too deep
        raise _error("invalid_software_statement", "software_statement malformado.") from exc
    key = keys.get(header.get("kid", "")) if header.get("alg") == ALGORITHM else None
    if key is None:
        raise _error("invalid_software_statement", "software_statement não assinado pelo Diretório confiável.")
    try:
        claims: dict[str, Any] = jwt.decode(
            ssa,
            key,
            algorithms=[ALGORITHM],
            issuer=settings.OPUSOF_DIRECTORY_ISSUER,
            options={"require": ["iss", "iat", "software_id", "org_id"], "verify_aud": False},
        )
    except (jwt.InvalidTokenError, RecursionError) as exc:
        raise _error("invalid_software_statement", f"software_statement inválido: {exc}.") from exc
    if time.time() - float(claims["iat"]) > SSA_MAX_AGE_SECONDS:
        raise _error("invalid_software_statement", "software_statement emitido há mais de 5 minutos.")
    if REQUIRED_ROLE not in (claims.get("software_roles") or []):
        raise _error("unapproved_software_statement", f"software_statement sem o papel {REQUIRED_ROLE}.")
    return claims


def scopes_for_roles(roles: list[str]) -> list[str]:
    """The scopes a registered client may ask for, from its statement's roles: PAGTO (payment initiation) covers
    payments v4, automatic payments v2 and the enrollments v2 journey without redirect."""
    scopes = ["openid"]
    for role in roles:
        scopes += [scope for scope in ROLE_SCOPES.get(role, ()) if scope not in scopes]
    return scopes


def _client_keys(body: dict[str, Any], ssa_claims: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(jwks_uri, inline jwks) to register. The keys are the Directory's (OFB DCR): client metadata may not carry
    ``jwks`` by value, nor a ``jwks_uri`` other than the statement's ``software_jwks_uri``. A statement with inline
    ``software_jwks`` comes only from the local stand-in Directory (opusof.authserver.directory)."""
    if "jwks" in body:
        raise _error("invalid_client_metadata", "jwks por valor não é aceito; as chaves são as do Diretório.")
    jwks_uri = str(ssa_claims.get("software_jwks_uri", ""))
    if "jwks_uri" in body and body["jwks_uri"] != jwks_uri:
        raise _error("invalid_client_metadata", "jwks_uri deve ser o do software_statement (software_jwks_uri).")
    jwks = ssa_claims.get("software_jwks") if not jwks_uri else None
    if not jwks_uri and not isinstance(jwks, dict):
        raise _error("invalid_software_statement", "software_statement sem software_jwks_uri.")
    return jwks_uri, jwks if isinstance(jwks, dict) else None


def _str_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _error("invalid_client_metadata", f"{name} deve ser uma lista de URIs.")
    return value


def _register(
    *, body: dict[str, Any], cert: ClientCertificate | None, client: TppClient | None = None
) -> tuple[TppClient, str | None]:
    """Registers (``client`` None: a new registration access token is issued) or updates ``client``."""
    ssa_claims = verify_software_statement(str(body.get("software_statement", "")))
    if client is not None and str(ssa_claims["software_id"]) != client.software_statement_id:
        raise _error("invalid_software_statement", "software_statement de outro software.")
    allowed_redirects = _str_list(ssa_claims.get("software_redirect_uris"), "software_redirect_uris")
    if not isinstance(body.get("redirect_uris"), list) or not body["redirect_uris"]:
        raise _error("invalid_redirect_uri", "redirect_uris obrigatório.")
    redirect_uris = _str_list(body.get("redirect_uris"), "redirect_uris")
    # RFC 7591 §2.3: values in the SSA take precedence; a client may only narrow them.
    if not set(redirect_uris) <= set(allowed_redirects):
        raise _error("invalid_redirect_uri", "redirect_uris devem constar do software_statement.")
    method = body.get("token_endpoint_auth_method", ClientAuthSettings.AuthMethod.PRIVATE_KEY_JWT)
    if method not in SUPPORTED_AUTH_METHODS:
        raise _error("invalid_client_metadata", "token_endpoint_auth_method: private_key_jwt ou tls_client_auth.")
    subject_dn = str(body.get("tls_client_auth_subject_dn", ""))
    if method == ClientAuthSettings.AuthMethod.TLS_CLIENT_AUTH and not subject_dn:
        if cert is None:
            raise _error("invalid_client_metadata", "tls_client_auth exige tls_client_auth_subject_dn.")
        subject_dn = cert.subject_dn
    jwks_uri, jwks = _client_keys(body, ssa_claims)
    roles = list(ssa_claims.get("software_roles") or [])
    client_id = client.client_id if client is not None else None
    existing = TppClient.objects.filter(software_statement_id=str(ssa_claims["software_id"])).first()
    if client_id is None and existing is not None:
        client_id = existing.client_id  # the same software registering again gets its client back (OFB DCR)
    new_token: str | None = None
    try:
        with transaction.atomic():
            registered = tpp_client_register(
                client_id=client_id or str(uuid.uuid4()),
                organisation_id=str(ssa_claims["org_id"]),
                organisation_name=str(ssa_claims.get("org_name", "")),
                software_statement_id=str(ssa_claims["software_id"]),
                name=str(ssa_claims.get("software_client_name") or ssa_claims["software_id"]),
                redirect_uris=redirect_uris,
                webhook_uris=_str_list(ssa_claims.get("software_api_webhook_uris"), "software_api_webhook_uris"),
                jwks=jwks,
                jwks_uri=jwks_uri,
                scopes=scopes_for_roles(roles),
                roles=roles,
            )
            auth, _ = ClientAuthSettings.objects.get_or_create(client=registered)
            auth.token_endpoint_auth_method = method
            auth.tls_client_auth_subject_dn = subject_dn
            auth.software_statement = str(body["software_statement"])
            auth.metadata = {k: v for k, v in body.items() if k != "software_statement"}
            if client is None:  # POST /register: the caller proved the software with a fresh SSA
                new_token = secrets.token_urlsafe(32)
                auth.registration_access_token_hash = token_hash(new_token)
            auth.save()
    except ValidationError as exc:
        raise _error("invalid_client_metadata", "; ".join(exc.messages)) from exc
    return registered, new_token


def _client_body(client: TppClient, registration_token: str | None = None) -> dict[str, Any]:
    auth = ClientAuthSettings.objects.get(client=client)
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "webhook_uris": client.webhook_uris,
        "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types": ["code id_token"],
        "token_endpoint_auth_method": auth.token_endpoint_auth_method,
        "scope": " ".join(client.scopes),
        "software_id": client.software_statement_id,
        "software_statement": auth.software_statement,
        "org_id": client.organisation_id,
        "software_roles": client.roles,
        "registration_client_uri": f"{endpoints.url('register')}/{client.client_id}",
    }
    if client.jwks_uri:
        body["jwks_uri"] = client.jwks_uri
    elif client.jwks:
        body["jwks"] = client.jwks
    if auth.tls_client_auth_subject_dn:
        body["tls_client_auth_subject_dn"] = auth.tls_client_auth_subject_dn
    if registration_token:
        body["registration_access_token"] = registration_token
    return body


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json_loads(request.body or b"{}")
    except UntrustedInputError as exc:
        raise _error("invalid_client_metadata", str(exc)) from exc
    except ValueError as exc:
        raise _error("invalid_client_metadata", "Corpo JSON inválido.") from exc
    if not isinstance(body, dict):
        raise _error("invalid_client_metadata", "Corpo deve ser um objeto JSON.")
    return body


def _managed_client(request: HttpRequest, client_id: str) -> TppClient:
    """RFC 7592 §2: the registration access token of exactly this client (401 otherwise, revealing nothing)."""
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    client = TppClient.objects.filter(client_id=client_id).select_related("auth_settings").first()
    auth = getattr(client, "auth_settings", None) if client is not None else None
    if (
        scheme.lower() != "bearer"
        or client is None
        or auth is None
        or not auth.registration_access_token_hash
        or not hmac.compare_digest(token_hash(raw.strip()), auth.registration_access_token_hash)
    ):
        raise _error("invalid_token", "Registration access token inválido.", status=401)
    return client


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> HttpResponse:
    """RFC 7591 §3.1. In production the TLS proxy has already checked the client certificate (mTLS)."""
    if not available():
        disabled = {"error": "invalid_request", "error_description": "Registro dinâmico desabilitado."}
        return _no_store(JsonResponse(disabled, status=404))
    try:
        cert = required_certificate(request)
        client, token = _register(body=_json_body(request), cert=cert)
    except OAuthError as exc:
        return exc.response()
    return _no_store(JsonResponse(_client_body(client, token), status=201))


@csrf_exempt
@require_http_methods(["GET", "PUT", "DELETE"])
def manage(request: HttpRequest, client_id: str) -> HttpResponse:
    """RFC 7592 §2.1-2.3: read, update (a fresh SSA), delete (the client is disabled: its history stays)."""
    try:
        client = _managed_client(request, client_id)
        if request.method == "GET":
            return _no_store(JsonResponse(_client_body(client)))
        if request.method == "PUT":
            body = _json_body(request)
            if body.get("client_id", client.client_id) != client.client_id:
                raise _error("invalid_client_metadata", "client_id diverge.")
            client, _ = _register(body=body, cert=required_certificate(request), client=client)
            return _no_store(JsonResponse(_client_body(client)))
        tpp_client_set_status(client=client, status=TppClient.Status.INACTIVE)
        ClientAuthSettings.objects.filter(client=client).update(registration_access_token_hash="")
        return HttpResponse(status=204)
    except OAuthError as exc:
        return exc.response()
