"""Authorisation-server endpoints (machine to machine: form in, JSON out, client authentication instead of CSRF)."""

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opusof.authserver import endpoints, grants, registration, services
from opusof.authserver.clientauth import (
    authenticate_client,
    cert_thumbprint_for_binding,
    client_certificate,
    form_params,
    required_certificate,
)
from opusof.authserver.errors import OAuthError, invalid_request
from opusof.keys import holder_public_jwks
from opusof.tokens import access_token_resolve

View = Callable[..., HttpResponse]


def oauth_endpoint(view: View) -> View:
    """POST-only, CSRF-exempt (client-authenticated, no cookies), ``no-store``, OAuth errors rendered."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except OAuthError as exc:
            return exc.response()
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    return csrf_exempt(require_POST(wrapper))


@require_GET
def openid_configuration(request: HttpRequest) -> JsonResponse:
    """OIDC Discovery / RFC 8414 metadata: only what this server implements."""
    metadata = {
        "issuer": endpoints.issuer(),
        "authorization_endpoint": endpoints.url("authorize"),
        "token_endpoint": endpoints.url("token"),
        "pushed_authorization_request_endpoint": endpoints.url("par"),
        "require_pushed_authorization_requests": True,
        "revocation_endpoint": endpoints.url("revoke"),
        "introspection_endpoint": endpoints.url("introspect"),
        "jwks_uri": endpoints.url("jwks"),
        "userinfo_endpoint": endpoints.url("userinfo"),
        "scopes_supported": [
            "openid",
            "payments",
            "consent",
            "recurring-payments",
            "recurring-consent",
            "enrollment",
            "nrp-consents",
        ],
        "response_types_supported": [services.RESPONSE_TYPE, services.JARM_RESPONSE_TYPE],
        "response_modes_supported": ["fragment", services.JARM_RESPONSE_MODE],
        "authorization_signing_alg_values_supported": [services.ALGORITHM],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "subject_types_supported": ["pairwise"],
        "acr_values_supported": [services.ACR],
        "claims_parameter_supported": False,
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        "request_object_signing_alg_values_supported": [services.ALGORITHM],
        "id_token_signing_alg_values_supported": [services.ALGORITHM],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
        "token_endpoint_auth_signing_alg_values_supported": [services.ALGORITHM],
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
        "code_challenge_methods_supported": ["S256"],
        "tls_client_certificate_bound_access_tokens": True,
        "authorization_response_iss_parameter_supported": False,
    }
    if _registration_available():
        metadata["registration_endpoint"] = endpoints.url("register")
    return JsonResponse(metadata)


def _registration_available() -> bool:
    # Dynamic client registration (RFC 7591) is offered only where a trusted Directory key is configured.
    return registration.available()


@require_GET
def server_jwks(request: HttpRequest) -> JsonResponse:
    """The keys our id_tokens are signed with (the holder key; public members only)."""
    return JsonResponse(holder_public_jwks())


@oauth_endpoint
def pushed_authorisation_request(request: HttpRequest) -> HttpResponse:
    """RFC 9126 §2: a signed request object only (FAPI 1 Adv §5.2.2-10); 201 with a one-time request_uri."""
    params = form_params(request)
    client = authenticate_client(request, params, endpoint_url=endpoints.url("par"))
    if "request_uri" in params:
        raise invalid_request("request_uri não é aceito no endpoint PAR (RFC 9126 §2.1).")
    request_object = params.get("request", "")
    if not request_object:
        raise invalid_request("Parâmetro request (request object assinado) ausente.")
    claims = services.verify_request_object(request_object, client=client)
    # Parameters outside the request object are ignored; those inside must not contradict the form (RFC 9101 §5).
    for name in ("client_id", "response_type", "redirect_uri", "scope"):
        if name in params and name in claims and params[name] != claims[name]:
            raise invalid_request(f"{name} do formulário diverge do request object.")
    par = services.par_create(client=client, claims=claims)
    return JsonResponse({"request_uri": par.request_uri, "expires_in": services.PAR_TTL_SECONDS}, status=201)


@oauth_endpoint
def token(request: HttpRequest) -> HttpResponse:
    params = form_params(request)
    client = authenticate_client(request, params, endpoint_url=endpoints.url("token"))
    thumbprint = cert_thumbprint_for_binding(required_certificate(request))
    grant_type = params.get("grant_type", "")
    body: dict[str, Any]
    if grant_type == "client_credentials":
        body = grants.grant_client_credentials(client=client, scope=params.get("scope", ""), cert_thumbprint=thumbprint)
    elif grant_type == "authorization_code":
        body = grants.grant_authorization_code(
            client=client,
            code=params.get("code", ""),
            redirect_uri=params.get("redirect_uri", ""),
            code_verifier=params.get("code_verifier", ""),
            cert_thumbprint=thumbprint,
        )
    elif grant_type == "refresh_token":
        body = grants.grant_refresh_token(
            client=client, refresh_token=params.get("refresh_token", ""), cert_thumbprint=thumbprint
        )
    else:
        raise OAuthError("unsupported_grant_type", "grant_type não suportado.")
    return JsonResponse(body)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> HttpResponse:
    """OIDC Core §5.3 (OFB security profile §5.2.2 item 8): the pairwise ``sub`` of the customer who authorised the
    token's consent. No other claims: the ``claims`` parameter (cpf/cnpj) is not implemented."""
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = access_token_resolve(raw.strip()) if scheme.lower() == "bearer" else None
    subject = grants.token_subject(token) if token is not None and "openid" in token.scopes else None
    if token is not None and settings.OPUSOF_MTLS_REQUIRED:
        cert = client_certificate(request)
        if cert is None or not hmac.compare_digest(cert.thumbprint, token.cert_thumbprint or "-"):
            subject = None
    if subject is None:
        response = JsonResponse({"error": "invalid_token", "error_description": "Token inválido."}, status=401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    response = JsonResponse({"sub": subject})
    response["Cache-Control"] = "no-store"
    return response


@oauth_endpoint
def revoke(request: HttpRequest) -> HttpResponse:
    params = form_params(request)
    client = authenticate_client(request, params, endpoint_url=endpoints.url("revoke"))
    if not params.get("token"):
        raise invalid_request("Parâmetro token ausente.")
    grants.token_revoke(client=client, token=params["token"])
    return HttpResponse(status=200)


@oauth_endpoint
def introspect(request: HttpRequest) -> HttpResponse:
    params = form_params(request)
    client = authenticate_client(request, params, endpoint_url=endpoints.url("introspect"))
    if not params.get("token"):
        raise invalid_request("Parâmetro token ausente.")
    return JsonResponse(grants.token_introspect(client=client, token=params["token"]))
