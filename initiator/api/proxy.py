"""Proxy payments v4 (en-opusTPP-iniciacaoPagamentos.yml "Pagamento"; seeds' /proxy/open-banking/payments/v4/...):
plain JSON from the application, FAPI to the holder, the holder's status code and body back as JSON."""

import uuid

from django.http import HttpRequest, HttpResponse

from initiator.api.base import endpoint, json_body, reply_response
from initiator.errors import ParameterMissing
from initiator.models import Application
from initiator.services import payments

# The customer's context the holder may use for risk (payments v4 request headers), passed through as sent.
CUSTOMER_HEADERS = ("x-fapi-auth-date", "x-fapi-customer-ip-address", "x-customer-user-agent")


def interaction_id_of(request: HttpRequest) -> str:
    """The application's x-fapi-interaction-id when it is a UUID (it then follows the call to the holder)."""
    value = request.headers.get("x-fapi-interaction-id", "")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


@endpoint(["POST"], versioned=True)
def pix_payments(request: HttpRequest, *, application: Application) -> HttpResponse:
    consent_id = request.headers.get("x-consent-id", "")
    if not consent_id:
        raise ParameterMissing("x-consent-id não informado.")
    reply = payments.payment_create(
        application=application,
        authorisation_server_id=request.headers.get("x-authorisation-server-id", ""),
        consent_id=consent_id,
        idempotency_key=request.headers.get("x-idempotency-key", ""),
        body=json_body(request),
        interaction_id=interaction_id_of(request),
        customer_headers={name: request.headers[name] for name in CUSTOMER_HEADERS if name in request.headers},
    )
    return reply_response(reply)


@endpoint(["GET", "PATCH"], versioned=True)
def pix_payment(request: HttpRequest, payment_id: str, *, application: Application) -> HttpResponse:
    payment = payments.payment_for(application, payment_id)
    if request.method == "PATCH":
        return reply_response(payments.payment_cancel(payment=payment, body=json_body(request)))
    return reply_response(payments.payment_read(payment=payment, actor="application:read"))


@endpoint(["PATCH"], versioned=True)
def pix_payments_of_consent(request: HttpRequest, consent_id: str, *, application: Application) -> HttpResponse:
    reply = payments.payments_cancel_all(
        application=application,
        consent_id=consent_id,
        body=json_body(request),
        idempotency_key=request.headers.get("x-idempotency-key", ""),
    )
    return reply_response(reply)
