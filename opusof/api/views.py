"""The base view of every regulated endpoint: headers, token, content types and the signed body, checked before the
handler runs, in the order a TPP can act on (interaction id, Accept, token, grant/scope, Content-Type, headers,
signature and claims)."""

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opusof.api import headers as h
from opusof.api.authentication import BearerTokenAuthentication
from opusof.api.errors import (
    BadSignature,
    Forbidden,
    InteractionIdInvalid,
    InteractionIdMissing,
    InternalError,
    MethodNotAllowed,
    ParameterInvalid,
    ParameterMissing,
    UnsupportedMediaType,
    error_body,
    error_response,
)
from opusof.api.negotiation import WeightedContentNegotiation
from opusof.api.parsers import JwsParser
from opusof.api.renderers import JwsRenderer
from opusof.context import interaction_id_var
from opusof.keys import holder_public_jwks
from opusof.models import AccessToken
from opusof.untrusted import has_nul

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# x-idempotency-key is a header of state-changing operations only (components.parameters.XIdempotencyKey).
STATE_CHANGING_METHODS = BODY_METHODS | {"DELETE"}
# A refreshed token continues the authorization_code grant it came from (same consent, same scopes).
_GRANT_ALIASES = {AccessToken.GrantType.REFRESH_TOKEN.value: AccessToken.GrantType.AUTHORIZATION_CODE.value}


class OfbApiView(APIView):
    """Subclass per operation; set the class attributes the operation's ``security`` and headers call for.

    ``request.user`` is the TppClient, ``request.auth`` the AccessToken, ``request.data`` the verified claims.
    Consent-bound views check ``request.auth.consent_id`` themselves.
    """

    required_scopes: frozenset[str] = frozenset({"payments"})
    allowed_grant_types: frozenset[str] = frozenset({"client_credentials"})
    idempotency_key_required: bool = False

    parser_classes = [JwsParser]
    renderer_classes = [JwsRenderer]
    content_negotiation_class = WeightedContentNegotiation
    # No OPTIONS: the spec documents none (405 like any other undocumented method), and DRF's would describe the
    # view in JSON without any of the checks below.
    http_method_names = ["get", "post", "put", "patch", "delete", "head"]
    authentication_classes = [BearerTokenAuthentication]
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def parameter_error_status(self, request: Request) -> int:
        """Status of a header/body syntax error: 422 PARAMETRO_* where the operation's 422 admits those codes (the
        POSTs, 1.3.1 / 2.2.1); 400 elsewhere (GETs document no 422; the PATCHes' 422 admits only
        PAGAMENTO_NAO_PERMITE_CANCELAMENTO)."""
        return 422 if request.method == "POST" else 400

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        interaction_id, problem = h.interaction_id_state(request._request)
        interaction_id_var.set(interaction_id)
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            # Before any header check: an unsupported method (OPTIONS included) is 405 whatever else the request
            # gets wrong; the answer still carries a (generated) interaction id.
            raise MethodNotAllowed(f"Método {request.method} não permitido.")
        if problem == "missing":
            raise InteractionIdMissing(f"Cabeçalho {h.INTERACTION_ID_HEADER} obrigatório não informado.")
        if problem == "invalid":
            raise InteractionIdInvalid(f"Cabeçalho {h.INTERACTION_ID_HEADER} deve ser um UUID (RFC 4122).")
        super().initial(request, *args, **kwargs)  # 406, then authentication (401)
        self.check_grant(request)
        try:
            self.check_headers(request)
            if request.method in BODY_METHODS:
                self.check_body(request)
        except (ParameterMissing, ParameterInvalid) as exc:
            exc.status_code = self.parameter_error_status(request)
            raise

    def check_grant(self, request: Request) -> None:
        token = request.auth
        if not isinstance(token, AccessToken):
            raise Forbidden("Token de acesso ausente.")
        grant_type = _GRANT_ALIASES.get(token.grant_type, token.grant_type)
        if grant_type not in self.allowed_grant_types:
            raise Forbidden(f"O grant_type {token.grant_type} não dá acesso a este recurso.")
        missing = self.required_scopes.difference(token.scopes)
        if missing:
            raise Forbidden(f"Token sem os escopos exigidos: {' '.join(sorted(missing))}.")

    def check_headers(self, request: Request) -> None:
        headers = request._request.headers
        if any(has_nul(value) for value in headers.values()):
            raise ParameterInvalid("O caractere NUL (U+0000) não é aceito nos cabeçalhos.")
        auth_date = headers.get("x-fapi-auth-date")
        if auth_date and not h.is_valid_auth_date(auth_date):
            raise ParameterInvalid("Parâmetro x-fapi-auth-date não obedece as regras de formatação esperadas.")
        for name in h.FREE_TEXT_HEADERS:
            value = headers.get(name)
            if value and len(value) > h.FREE_TEXT_MAX:
                raise ParameterInvalid(f"Parâmetro {name} não obedece as regras de formatação esperadas.")
        key = headers.get(h.IDEMPOTENCY_KEY_HEADER)
        if key is None or key == "":
            if self.idempotency_key_required and request.method in STATE_CHANGING_METHODS:
                raise ParameterMissing(f"Parâmetro {h.IDEMPOTENCY_KEY_HEADER} obrigatório não informado.")
        elif request.method in STATE_CHANGING_METHODS and not h.is_valid_idempotency_key(key):
            raise ParameterInvalid(
                f"Parâmetro {h.IDEMPOTENCY_KEY_HEADER} não obedece as regras de formatação esperadas."
            )

    def check_body(self, request: Request) -> None:
        media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
        if media_type != JwsParser.media_type:
            raise UnsupportedMediaType(f"Content-Type {media_type or '(ausente)'} não suportado; use application/jwt.")
        if not request._request.body:
            raise BadSignature("Corpo da requisição vazio; envie um JWS assinado.")
        request.data  # noqa: B018 - parse now: signature and claims are checked before the handler runs

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and not response.is_rendered:
            # Render (sign) here rather than lazily in Django's handler, so a failure still ends as the regulated
            # 500 instead of a traceback page.
            try:
                response.render()
            except Exception as exc:  # anything at all must become the regulated 500
                logger.error("response of %s could not be rendered", type(self).__name__, exc_info=exc)
                error = InternalError("Erro inesperado; tente novamente.")
                response = error_response(error.status_code, error_body(error), request)
        # Every response, success or error, echoes the interaction id (components.responses.*.headers).
        response[h.INTERACTION_ID_HEADER] = h.interaction_id_for(request._request)
        return response


@require_GET
def holder_jwks(request: HttpRequest) -> HttpResponse:
    """GET /.well-known/jwks.json: the public half of our signing key, as the Directory would publish it."""
    response = JsonResponse(holder_public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
