from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from opusof.context import interaction_id_var
from opusof.timeutil import business_tz

# The spec's x-fapi-interaction-id is a UUID; a longer value is not one, and is not copied into every log line.
_MAX_INTERACTION_ID_LENGTH = 100


class InteractionIdMiddleware:
    """Binds the incoming x-fapi-interaction-id to the logging context for the request's lifetime, and echoes it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        interaction_id = request.headers.get("x-fapi-interaction-id")
        if interaction_id is not None:
            interaction_id = interaction_id[:_MAX_INTERACTION_ID_LENGTH]
        token = interaction_id_var.set(interaction_id)
        try:
            response = self.get_response(request)
        finally:
            interaction_id_var.reset(token)
        # Regulated views set it themselves; this covers Django's own answers (unknown URL 404s) too.
        if interaction_id and "x-fapi-interaction-id" not in response:
            response["x-fapi-interaction-id"] = interaction_id
        return response


# Pages people read: the index, the admin and the customer's pages. The APIs keep UTC (RFC 3339, payments v4 §0.4).
PEOPLE_PAGE_PREFIXES = ("/admin/", "/minhas-autorizacoes/", "/auth/entrar/", "/auth/consentimento/", "/auth/authorize")


class BrasiliaTimeMiddleware:
    """Times on the pages people read are shown in Brasília time; the database keeps UTC (USE_TZ)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/" and not request.path.startswith(PEOPLE_PAGE_PREFIXES):
            return self.get_response(request)
        timezone.activate(business_tz())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
