"""Payments without redirect (en-opusTPP-pagamentosSR.yml; initiator_vinculoDeDispositivo.md): the enrollment
routes under /opus-open-finance/enrollments/v1 and the FIDO2 proxies under /proxy/open-banking/enrollments/v2."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from initiator.api.base import endpoint, json_body, reply_response
from initiator.api.proxy import CUSTOMER_HEADERS
from initiator.api.views import server_id_of
from initiator.models import Application, ConsentProduct
from initiator.services import enrollment_fido, enrollments
from initiator.services.consents import HolderReply

# What an answer says when no holder was reached (enrollments-2.1.0.yml).
VERSION = "2.1.0"


def _key(request: HttpRequest) -> str:
    return request.headers.get("x-idempotency-key", "")


@endpoint(["POST"], versioned=VERSION)
def enrollment_create(request: HttpRequest, *, application: Application) -> HttpResponse:
    reply = enrollments.enrollment_create(
        application=application,
        authorisation_server_id=server_id_of(request),
        body=json_body(request),
        regulatory_version=request.headers.get("x-regulatory-v"),
        idempotency_key=_key(request),
    )
    return reply_response(reply)


@endpoint(["GET", "PATCH"], versioned=VERSION)
def enrollment(request: HttpRequest, enrollment_id: str, *, application: Application) -> HttpResponse:
    if request.method == "PATCH":
        reply = enrollments.enrollment_cancel(
            application=application,
            enrollment_id=enrollment_id,
            authorisation_server_id=server_id_of(request),
            body=json_body(request),
            idempotency_key=_key(request),
        )
    else:
        reply = enrollments.enrollment_read(
            application=application, enrollment_id=enrollment_id, authorisation_server_id=server_id_of(request)
        )
    return reply_response(reply)


def _enrollment_call(
    service: Callable[..., HolderReply], request: HttpRequest, enrollment_id: str, application: Application, server: str
) -> HttpResponse:
    """One action on an enrollment: the service's answer for ``enrollment_id`` at authorisation server ``server``."""
    reply = service(
        application=application,
        enrollment_id=enrollment_id,
        authorisation_server_id=server,
        body=json_body(request),
        idempotency_key=_key(request),
    )
    return reply_response(reply)


@endpoint(["POST"], versioned=VERSION)
def risk_signals(request: HttpRequest, enrollment_id: str, *, application: Application) -> HttpResponse:
    return _enrollment_call(
        enrollments.enrollment_risk_signals, request, enrollment_id, application, server_id_of(request)
    )


@endpoint(["POST"], versioned=VERSION)
def fido_sign_options(request: HttpRequest, enrollment_id: str, *, application: Application) -> HttpResponse:
    return _enrollment_call(enrollments.fido_sign_options, request, enrollment_id, application, server_id_of(request))


# The proxies name the holder by the optional header (Opus's proxy routes), the gateway's own routes require it.
@endpoint(["POST"], versioned=VERSION)
def fido_registration_options(request: HttpRequest, enrollment_id: str, *, application: Application) -> HttpResponse:
    server = request.headers.get("x-authorisation-server-id", "")
    return _enrollment_call(enrollment_fido.fido_registration_options, request, enrollment_id, application, server)


@endpoint(["POST"], versioned=VERSION)
def fido_registration(request: HttpRequest, enrollment_id: str, *, application: Application) -> HttpResponse:
    server = request.headers.get("x-authorisation-server-id", "")
    return _enrollment_call(enrollment_fido.fido_registration, request, enrollment_id, application, server)


def _authorise(request: HttpRequest, consent_id: str, application: Application, product: str) -> HttpResponse:
    reply = enrollment_fido.consent_authorise(
        application=application,
        consent_id=consent_id,
        body=json_body(request),
        idempotency_key=_key(request),
        product=product,
        authorisation_server_id=request.headers.get("x-authorisation-server-id", ""),
        customer_headers={name: request.headers[name] for name in CUSTOMER_HEADERS if name in request.headers},
    )
    return reply_response(reply)


@endpoint(["POST"], versioned=VERSION)
def consent_authorise(request: HttpRequest, consent_id: str, *, application: Application) -> HttpResponse:
    return _authorise(request, consent_id, application, ConsentProduct.PAYMENTS)


@endpoint(["POST"], versioned=VERSION)
def recurring_consent_authorise(
    request: HttpRequest, recurring_consent_id: str, *, application: Application
) -> HttpResponse:
    return _authorise(request, recurring_consent_id, application, ConsentProduct.AUTOMATIC_PAYMENTS)
