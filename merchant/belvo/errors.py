"""Every refusal of the Belvo dialect as Belvo writes it: a list of ``{code, message, request_id, field}`` with the
status of the table in docs/merchant.md; DRF's own refusals are translated too."""

import uuid
from typing import Any

from rest_framework.response import Response

from merchant.error_kinds import as_merchant_error

CODES = {
    "invalid": "invalid",
    "schedule": "invalid_schedule",
    "unauthenticated": "authentication_failed",
    "not_found": "not_found",
    "idempotency": "idempotency_key_reused",
    "not_cancellable": "cancellation_not_allowed",
    "refused": "payment_rejected",
    "unavailable": "institution_unavailable",
    "malformed_body": "invalid",
    "method": "method_not_allowed",
    "media_type": "invalid",
    "no_route": "not_found",
    "throttled": "invalid",
    "framework": "invalid",
    "forbidden": "permission_denied",
    "not_replaceable": "charge_not_replaceable",
    "not_modifiable": "payment_intent_not_modifiable",
    "not_refundable": "refund_not_allowed",
    "refund_exceeded": "refund_amount_exceeded",
}
# Belvo's words for DRF's refusals; any other refusal says its own message.
MESSAGES = {
    "malformed_body": "The request body is not valid JSON.",
    "method": "Method not allowed.",
    "media_type": "Send the body as application/json.",
    "no_route": "Not found.",
}


def belvo_error(code: str, message: str, status: int, field: str | None = None) -> Response:
    body = [{"code": code, "message": message, "request_id": uuid.uuid4().hex, "field": field}]
    return Response(body, status=status)


def belvo_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = as_merchant_error(exc)
    if error is None:
        return None
    return belvo_error(
        CODES[error.kind], MESSAGES.get(error.kind, error.message), error.status_code, error.field or None
    )
