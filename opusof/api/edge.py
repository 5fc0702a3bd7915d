"""The edge of the regulated APIs: what no view gets to see, and what answers where no view matched.

Under the API prefix every answer is the regulated JSON error body (components.responses), never Django's HTML
pages, with ``DEBUG`` on or off: a catch-all route answers unmatched paths, and a middleware refuses NUL
characters and oversized request lines before URL resolution, for every URL of the site.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from opusof.api.errors import MalformedRequest, NotFound, error_body, error_response
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
    if request.method != "POST" or request.content_type != _FORM:
        return False
    return any(has_nul(name, *values) for name, values in request.POST.lists())


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


@csrf_exempt
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any path under the API prefix that no operation matched: 404 with the regulated body."""
    return _edge_error(request, NotFound(f"Recurso {request.path[:200]} não encontrado."))
