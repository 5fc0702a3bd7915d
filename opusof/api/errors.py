"""The one DRF exception handler that renders every error body (the error classes are in opusof.errors and
re-exported here for the views).

Body (payments v4 ``ResponseError`` / ``422ResponseError*``): ``{"errors":[{"code","title","detail"}],
"meta":{"requestDateTime"}}``. The spec documents 422 as ``application/jwt`` (signed) and every other error status
as ``application/json; charset=utf-8``; every response echoes ``x-fapi-interaction-id`` (components.responses).
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError
from rest_framework import exceptions as drf
from rest_framework.request import Request

from opusof.api.authentication import RegulatedAuthenticationFailed, authenticated_client
from opusof.api.headers import INTERACTION_ID_HEADER, interaction_id_for
from opusof.errors import (
    BadSignature,
    Forbidden,
    IdempotencyConflict,
    InteractionIdInvalid,
    InteractionIdMissing,
    InternalError,
    InvalidCertificate,
    InvalidClient,
    MalformedClaims,
    MalformedRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    ParameterInvalid,
    ParameterMissing,
    RegulatedError,
    ServiceUnavailable,
    SiteOverloaded,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from opusof.jose import sign_payload
from opusof.timeutil import now_rfc3339

logger = logging.getLogger(__name__)

__all__ = [
    "BadSignature",
    "Forbidden",
    "IdempotencyConflict",
    "InteractionIdInvalid",
    "InteractionIdMissing",
    "InternalError",
    "InvalidCertificate",
    "InvalidClient",
    "MalformedClaims",
    "MalformedRequest",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "ParameterInvalid",
    "ParameterMissing",
    "RegulatedAuthenticationFailed",
    "ServiceUnavailable",
    "SiteOverloaded",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_body",
    "error_response",
    "exception_handler",
    "to_regulated",
]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
JWT_CONTENT_TYPE = "application/jwt"


# Infrastructure failures a retry may cure: the database (PostgreSQL down, connection dropped, deadlock), the broker
# or the cache (Redis down). Answered 503, logged as a warning (docs/resilience.md).
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseOperationalError,
    DatabaseInterfaceError,
    BrokerOperationalError,
    RedisError,
    ConnectionError,
    TimeoutError,
)
RETRY_AFTER_SECONDS = 5


# --- Mapping --------------------------------------------------------------------------------------------------------

_MISSING_CODES = frozenset({"required", "null", "blank"})


def _flatten(detail: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, path if key in ("non_field_errors", "__all__") else (*path, str(key)))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                yield from _flatten(value, (*path[:-1], f"{path[-1]}[{index}]") if path else (f"[{index}]",))
            else:
                yield path, value
    else:
        yield path, detail


def _from_validation_error(exc: drf.ValidationError) -> RegulatedError:
    """DRF serializer errors as the spec's 422 codes (1.3.1 / 2.2.1): missing beats invalid, one error named."""
    errors = list(_flatten(exc.detail, ()))
    missing = [(path, err) for path, err in errors if getattr(err, "code", None) in _MISSING_CODES]
    path, _ = (missing or errors or [((), None)])[0]
    field = ".".join(path) or "data"
    if missing:
        return ParameterMissing(f"Parâmetro {field} obrigatório não informado.")
    return ParameterInvalid(f"Parâmetro {field} não obedece as regras de formatação esperadas.")


def to_regulated(exc: BaseException) -> RegulatedError:
    """Any exception as the regulated error the client sees. Unknown exceptions become the opaque 500."""
    if isinstance(exc, RegulatedError):
        return exc
    if isinstance(exc, RegulatedAuthenticationFailed):
        return exc.error
    if isinstance(exc, drf.ValidationError):
        return _from_validation_error(exc)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return Unauthorized(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return Forbidden()
    if isinstance(exc, drf.NotFound | Http404):
        return NotFound()
    if isinstance(exc, drf.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf.NotAcceptable):
        return NotAcceptable("O cabeçalho Accept deve admitir application/jwt.")
    if isinstance(exc, drf.UnsupportedMediaType):
        return UnsupportedMediaType("O Content-Type deve ser application/jwt.")
    if isinstance(exc, drf.ParseError):
        return MalformedRequest(str(exc.detail))
    if isinstance(exc, SuspiciousOperation):
        return MalformedRequest("Requisição recusada.")
    if isinstance(exc, drf.Throttled):
        return TooManyRequests()
    if isinstance(exc, drf.APIException) and exc.status_code < 500:
        error = RegulatedError(str(exc.detail), code=str(exc.default_code).upper(), title=str(exc.default_detail))
        error.status_code = exc.status_code
        return error
    if isinstance(exc, _UNAVAILABLE_ERRORS):
        return ServiceUnavailable("Serviço temporariamente indisponível; tente novamente em instantes.")
    return InternalError("Erro inesperado; tente novamente.")


def error_body(error: RegulatedError) -> dict[str, Any]:
    return {
        "errors": [{"code": error.code, "title": error.title[:255], "detail": str(error.detail)[:2048]}],
        "meta": {"requestDateTime": now_rfc3339()},
    }


def _http_request(request: Request | HttpRequest) -> HttpRequest:
    return request._request if isinstance(request, Request) else request


def error_response(status: int, body: dict[str, Any], request: Request | HttpRequest) -> HttpResponse:
    """An error body as the spec's wire format: 422 signed for the caller's organisation, the rest plain JSON."""
    http_request = _http_request(request)
    client = authenticated_client(http_request)
    if status == 422 and client is not None:
        response = HttpResponse(
            sign_payload(body, audience=client.organisation_id), status=status, content_type=JWT_CONTENT_TYPE
        )
    else:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        response = HttpResponse(content, status=status, content_type=JSON_CONTENT_TYPE)
    response[INTERACTION_ID_HEADER] = interaction_id_for(http_request)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="opusof"'
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse:
    """REST_FRAMEWORK.EXCEPTION_HANDLER: every failure ends as the regulated body, never a traceback."""
    error = to_regulated(exc)
    view = type(context.get("view")).__name__
    if isinstance(error, ServiceUnavailable) and not isinstance(exc, RegulatedError):
        logger.warning("%s answered 503: %s: %s", view, type(exc).__name__, exc)
    elif error.status_code >= 500 and not isinstance(exc, RegulatedError):
        logger.error("unhandled exception in %s", view, exc_info=exc)
    return error_response(error.status_code, error_body(error), context["request"])
