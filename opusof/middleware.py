from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from opusof.context import interaction_id_var

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
