from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from opusof.context import interaction_id_var


class InteractionIdMiddleware:
    """Binds the incoming x-fapi-interaction-id to the logging context for the request's lifetime."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = interaction_id_var.set(request.headers.get("x-fapi-interaction-id"))
        try:
            return self.get_response(request)
        finally:
            interaction_id_var.reset(token)
