"""Automatic payments through the gateway (initiator_pagamentoAutomatico.md): recurring consents
(/opus-open-finance/automatic-payments/v1/...) and the recurring payments proxy
(/proxy/open-banking/automatic-payments/v2/pix/recurring-payments), plain JSON in and out."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from initiator.api.base import data_field, endpoint, json_body, reply_response
from initiator.api.proxy import CUSTOMER_HEADERS, interaction_id_of
from initiator.api.views import server_id_of
from initiator.errors import ParameterInvalid, ParameterMissing
from initiator.models import Application, ChargeStatus, ScheduledCharge
from initiator.services import automatic, charges, consents, payments

AUTOMATIC = automatic.AUTOMATIC


@endpoint(["POST"], versioned=True)
def recurring_consent_create(request: HttpRequest, *, application: Application) -> HttpResponse:
    _, reply = consents.consent_create(
        application=application,
        authorisation_server_id=server_id_of(request),
        body=json_body(request),
        regulatory_version=request.headers.get("x-regulatory-v"),
        product=AUTOMATIC,
    )
    return reply_response(reply)


@endpoint(["GET", "PATCH"], versioned=True)
def recurring_consent(request: HttpRequest, recurring_consent_id: str, *, application: Application) -> HttpResponse:
    if request.method == "PATCH":
        reply = automatic.recurring_consent_patch(
            application=application,
            recurring_consent_id=recurring_consent_id,
            authorisation_server_id=server_id_of(request),
            body=json_body(request),
        )
    else:
        reply = consents.consent_read(
            application=application,
            consent_id=recurring_consent_id,
            authorisation_server_id=server_id_of(request),
            product=AUTOMATIC,
        )
    return reply_response(reply)


@endpoint(["POST"], versioned=True)
def recurring_consent_retry(
    request: HttpRequest, recurring_consent_id: str, *, application: Application
) -> HttpResponse:
    callback = data_field(json_body(request), "callbackApplicationUri")
    if not isinstance(callback, str) or not callback:
        raise ParameterMissing("data.callbackApplicationUri não informado.")
    reply = consents.consent_retry_authorisation(
        application=application,
        consent_id=recurring_consent_id,
        authorisation_server_id=server_id_of(request),
        callback_uri=callback,
        product=AUTOMATIC,
    )
    return reply_response(reply)


@endpoint(["POST", "GET"], versioned=True)
def recurring_payments(request: HttpRequest, *, application: Application) -> HttpResponse:
    if request.method == "GET":
        query = {name: str(request.GET.get(name, "")) for name in request.GET}
        return reply_response(automatic.recurring_payments_list(application=application, query=query))
    reply = automatic.recurring_payment_create(
        application=application,
        authorisation_server_id=request.headers.get("x-authorisation-server-id", ""),
        idempotency_key=request.headers.get("x-idempotency-key", ""),
        body=json_body(request),
        interaction_id=interaction_id_of(request),
        customer_headers={name: request.headers[name] for name in CUSTOMER_HEADERS if name in request.headers},
    )
    return reply_response(reply)


@endpoint(["GET", "PATCH"], versioned=True)
def recurring_payment(request: HttpRequest, recurring_payment_id: str, *, application: Application) -> HttpResponse:
    payment = payments.payment_for(application, recurring_payment_id, AUTOMATIC)
    if request.method == "PATCH":
        return reply_response(payments.payment_cancel(payment=payment, body=json_body(request)))
    return reply_response(payments.payment_read(payment=payment, actor="application:read"))


def _charge_wire(charge: ScheduledCharge) -> dict[str, Any]:
    return {
        "chargeId": str(charge.id),
        "recurringConsentId": charge.consent.consent_id,
        "reference": charge.reference,
        "amount": f"{charge.amount:.2f}",
        "dueDate": charge.due_date.isoformat(),
        "status": charge.status,
        "attempts": charge.attempts,
        "recurringPaymentId": charge.payment.payment_id if charge.payment else None,
        "originalRecurringPaymentId": charge.original_payment_id or None,
        "reason": charge.last_error or None,
    }


@endpoint(["POST", "GET"])
def recurring_consent_charges(
    request: HttpRequest, recurring_consent_id: str, *, application: Application
) -> HttpResponse:
    """The charges the initiator runs on the consent: POST registers (a list or a monthly rule), GET lists."""
    if request.method == "POST":
        created = charges.charges_register(
            application=application, recurring_consent_id=recurring_consent_id, body=json_body(request)
        )
        return JsonResponse({"data": [_charge_wire(c) for c in created]}, status=201)
    listed = charges.charges_of(application=application, recurring_consent_id=recurring_consent_id)
    return JsonResponse({"data": [_charge_wire(c) for c in listed]})


@endpoint(["PATCH"])
def charge(request: HttpRequest, charge_id: str, *, application: Application) -> HttpResponse:
    """Cancels a charge not yet sent (``{"data": {"status": "CANCELLED"}}``)."""
    if data_field(json_body(request), "status") != ChargeStatus.CANCELLED:
        raise ParameterInvalid('Apenas {"data": {"status": "CANCELLED"}} é aceito.')
    return JsonResponse({"data": _charge_wire(charges.charge_cancel(application=application, charge_id=charge_id))})
