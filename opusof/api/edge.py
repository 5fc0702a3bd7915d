"""The edge of the regulated APIs: what no view gets to see, and what answers where no view matched.

Under the API prefix every answer is the regulated JSON error body (components.responses), never Django's HTML
pages, with ``DEBUG`` on or off: a catch-all route answers unmatched paths, a middleware refuses NUL characters
and oversized request lines before URL resolution (for every URL of the site), and an outer one turns whatever HTML
error Django itself still produces there into the regulated body.
"""

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from opusof.api.errors import (
    Forbidden,
    InternalError,
    MalformedRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    error_body,
    error_response,
)
from opusof.api.headers import INTERACTION_ID_HEADER
from opusof.errors import RegulatedError
from opusof.untrusted import has_nul

API_PREFIX = "/open-banking/"
# Gunicorn's default request-line cap; the web server is run without its own cap (run_platform) so that a longer
# line gets this JSON answer rather than the server's HTML error page.
MAX_REQUEST_LINE_BYTES = 4094
_FORM = "application/x-www-form-urlencoded"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def _edge_error(request: HttpRequest, error: RegulatedError) -> HttpResponse:
    response = error_response(error.status_code, error_body(error), request)
    if request.headers.get(INTERACTION_ID_HEADER):
        # No operation matched, so none validated the id: opusof.middleware echoes what the client sent.
        del response[INTERACTION_ID_HEADER]
    return response


def _refusal(request: HttpRequest, description: str) -> HttpResponse:
    if is_api_path(request.path):
        return _edge_error(request, MalformedRequest(description))
    response = JsonResponse({"error": "invalid_request", "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response


def _request_line_length(request: HttpRequest) -> int:
    raw_path = request.META.get("RAW_URI") or request.get_full_path()
    return len(str(request.method)) + len(str(raw_path)) + len(" HTTP/1.1") + 1


def _form_has_nul(request: HttpRequest) -> bool:
    # API bodies are JWS (checked by the parser); a form posted there is refused by the view as 415/400.
    if request.method != "POST" or request.content_type != _FORM or is_api_path(request.path):
        return False
    try:
        return any(has_nul(name, *values) for name, values in request.POST.lists())
    except SuspiciousOperation:  # too big or too many fields: Django answers that itself, later
        return False


class UntrustedInputMiddleware:
    """Refuses a NUL (U+0000) in the path, the query string or a form body (PostgreSQL refuses it in text, so it
    would end as a 500 in any lookup), and a request line longer than ``MAX_REQUEST_LINE_BYTES``: 400 with the
    regulated body under the API prefix, an OAuth ``invalid_request`` elsewhere. JSON and JWS bodies are checked
    where they are parsed (opusof.untrusted)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _request_line_length(request) > MAX_REQUEST_LINE_BYTES:
            return _refusal(request, f"Linha de requisição acima de {MAX_REQUEST_LINE_BYTES} bytes.")
        query = [item for name, values in request.GET.lists() for item in (name, *values)]
        if has_nul(request.path, *query) or _form_has_nul(request):
            return _refusal(request, "O caractere NUL (U+0000) não é aceito.")
        return self.get_response(request)


# Django's own error answers under the API prefix, as the regulated error of the same status.
_ERROR_BY_STATUS: dict[int, type[RegulatedError]] = {
    400: MalformedRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    415: UnsupportedMediaType,
    429: TooManyRequests,
}


class ApiJsonOnlyMiddleware:
    """Under the API prefix an answer that is not JSON or JWS (Django's HTML 400 for a disallowed Host or an
    oversized form, its DEBUG pages, a 500 raised outside a regulated view) becomes the regulated JSON error body of
    the same status; components.responses documents no HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_path(request.path) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").split(";", 1)[0].strip() in ("application/json", "application/jwt"):
            return response
        error_class = _ERROR_BY_STATUS.get(response.status_code, InternalError)
        error = error_class()
        if error_class is InternalError:
            error.status_code = response.status_code if response.status_code >= 500 else 500
        return _edge_error(request, error)


@csrf_exempt
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any path under the API prefix that no operation matched: 404 with the regulated body."""
    return _edge_error(request, NotFound(f"Recurso {request.path[:200]} não encontrado."))
