"""Every refusal of the Belvo dialect as Belvo writes it: a list of ``{code, message, request_id, field}`` with the
status of the table in docs/merchant.md; DRF's own refusals are translated too."""

import uuid
from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response

from merchant.errors import MerchantError

CODES = {
    "invalid": "invalid",
    "schedule": "invalid_schedule",
    "unauthenticated": "authentication_failed",
    "not_found": "not_found",
    "idempotency": "idempotency_key_reused",
    "not_cancellable": "cancellation_not_allowed",
    "refused": "payment_rejected",
    "unavailable": "institution_unavailable",
    "forbidden": "permission_denied",
    "not_replaceable": "charge_not_replaceable",
    "not_modifiable": "payment_intent_not_modifiable",
}


def belvo_error(code: str, message: str, status: int, field: str | None = None) -> Response:
    body = [{"code": code, "message": message, "request_id": uuid.uuid4().hex, "field": field}]
    return Response(body, status=status)


def belvo_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MerchantError):
        return belvo_error(CODES[exc.kind], exc.message, exc.status_code, exc.field or None)
    if isinstance(exc, exceptions.ParseError):
        return belvo_error("invalid", "The request body is not valid JSON.", 400)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return belvo_error("method_not_allowed", "Method not allowed.", 405)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return belvo_error("invalid", "Send the body as application/json.", 415)
    if isinstance(exc, exceptions.NotFound):
        return belvo_error("not_found", "Not found.", 404)
    if isinstance(exc, exceptions.APIException):
        return belvo_error("invalid", str(exc.detail), exc.status_code)
    return None
