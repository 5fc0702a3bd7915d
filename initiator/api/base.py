"""What every gateway endpoint shares: the application's credential, JSON in and out, the Opus error body with
``x-origin-error``, and ``x-selected-regulatory-v`` on every answer of a route that reaches a holder."""

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from initiator.errors import InitiatorError, ParameterInvalid
from initiator.models import Application
from initiator.services.applications import application_authenticate
from initiator.services.consents import HolderReply
from opusof.timeutil import now_rfc3339

logger = logging.getLogger(__name__)

# The payments version this gateway speaks (payments-4.0.0.yml): what an answer says when no holder was reached.
DEFAULT_VERSION = "4.0.0"

View = Callable[..., HttpResponse]


def json_body(request: HttpRequest) -> Any:
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise ParameterInvalid("Corpo não é JSON válido.") from exc


def data_field(body: Any, name: str) -> Any:
    """``body["data"][name]`` when the body has that shape, else None (the caller names what is missing)."""
    data = body.get("data") if isinstance(body, dict) else None
    return data.get(name) if isinstance(data, dict) else None


def error_response(exc: InitiatorError, *, version: str | None) -> JsonResponse:
    body = {**exc.body(), "meta": {"totalRecords": 1, "totalPages": 1, "requestDateTime": now_rfc3339()}}
    response = JsonResponse(body, status=exc.status_code)
    response["x-origin-error"] = exc.origin
    if exc.source_url and exc.origin == "participant":
        response["x-error-source-url"] = exc.source_url
    if version:
        response["x-selected-regulatory-v"] = version
    return response


def reply_response(reply: HolderReply) -> HttpResponse:
    """The holder's answer as JSON with the holder's status code; a holder error says so (x-origin-error)."""
    body = reply.body
    if reply.status_code >= 400 and not isinstance(body.get("errors"), list):
        # A holder error without the regulated body (a proxy's page, an empty answer): still Opus's error shape.
        detail = f"A detentora respondeu HTTP {reply.status_code} sem corpo de erro regulado."
        body = {"errors": [{"code": "ERRO_DETENTORA", "title": "Erro na detentora.", "detail": detail}]}
    if reply.status_code == 204:
        response: HttpResponse = HttpResponse(status=204)
    else:
        response = JsonResponse(body, status=reply.status_code)
    response["x-selected-regulatory-v"] = reply.version
    if reply.interaction_id:
        response["x-fapi-interaction-id"] = reply.interaction_id
    if reply.status_code >= 400:
        response["x-origin-error"] = "participant"
        if reply.source_url:
            response["x-error-source-url"] = reply.source_url
    return response


def endpoint(
    methods: list[str], *, authenticated: bool = True, versioned: bool | str = False
) -> Callable[[View], View]:
    """A gateway view: method check, application authentication (passed as ``application``), errors rendered.
    ``versioned``: the route reaches a holder; a string names the version an answer gives when none was reached."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            version = (versioned if isinstance(versioned, str) else DEFAULT_VERSION) if versioned else None
            if request.method not in methods:
                error = InitiatorError("Método não permitido.", code="METODO_NAO_PERMITIDO")
                error.status_code = 405
                return error_response(error, version=version)
            try:
                if authenticated:
                    application: Application = application_authenticate(
                        application_id=request.headers.get("x-application-id", ""),
                        authorization=request.headers.get("authorization", ""),
                    )
                    kwargs["application"] = application
                return view(request, *args, **kwargs)
            except InitiatorError as exc:
                return error_response(exc, version=version)

        return csrf_exempt(wrapper)

    return decorate
