"""Automatic payments through the gateway (initiator_pagamentoAutomatico.md): recurring consents
(/opus-open-finance/automatic-payments/v1/...) and the recurring payments proxy
(/proxy/open-banking/automatic-payments/v2/pix/recurring-payments), plain JSON in and out."""

from django.http import HttpRequest, HttpResponse

from initiator.api.base import data_field, endpoint, json_body, reply_response
from initiator.api.proxy import CUSTOMER_HEADERS, interaction_id_of
from initiator.api.views import server_id_of
from initiator.errors import ParameterMissing
from initiator.models import Application
from initiator.services import automatic, consents, payments

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
