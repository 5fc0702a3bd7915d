from typing import Any

from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response

from opusof.api.authentication import request_client, request_token, token_enrollment_id
from opusof.api.errors import Forbidden
from opusof.api.headers import IDEMPOTENCY_KEY_HEADER
from opusof.api.idempotency import idempotent
from opusof.api.responses import meta, self_link
from opusof.api.schema import regulated_operation
from opusof.api.views import OfbApiView
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.specs import request_body_validator
from opusof.timeutil import rfc3339
from payments.api.serializers import payment_to_wire
from payments.batches import payment_refresh
from payments.cancellation import payment_cancel, payments_cancel_for_consent
from payments.models import CancelledFrom
from payments.selectors import payment_get_for_client
from payments.services import payment_create, payment_create_with_enrollment

SPEC = "payments-4.0.0.yml"
NRP_SCOPE = "nrp-consents"


def _cancellation_request(request: Request, operation_id: str) -> tuple[str, str]:
    """The PATCH body's canceller. Its 422 only admits PAGAMENTO_NAO_PERMITE_CANCELAMENTO, so a malformed body
    is answered 400 with the regulated error body."""
    try:
        request_body_validator(SPEC, operation_id)(request.data)
    except RegulatedError as exc:
        exc.status_code = 400
        raise
    data: dict[str, Any] = request.data["data"]
    if data["status"] != "CANC":
        raise ParameterInvalid("data.status deve ser CANC.")
    document = data["cancellation"]["cancelledBy"]["document"]
    return document["identification"], document["rel"]


class PixPaymentCreateApi(OfbApiView):
    """POST /pix/payments (paymentsPostPixPayments) with either authorization_code token its security admits: the
    redirect one bound to its consent (OAuth2AuthorizationCode: openid ``consent:{consentId}`` payments) or the
    enrollment's (NonRedirectAuthorizationCode: openid ``enrollment:{enrollmentId}`` payments nrp-consents), whose
    consent is the body's ``consentId`` with ``authorisationFlow`` FIDO_FLOW."""

    allowed_grant_types = frozenset({"authorization_code"})
    required_scopes = frozenset({"openid", "payments"})
    idempotency_key_required = True

    @regulated_operation(SPEC, "paymentsPostPixPayments")
    @idempotent("payments-v4:pix-payments-create", atomic=False)
    def post(self, request: Request) -> Response:
        token = request_token(request)
        enrollment_id = token_enrollment_id(token)
        if enrollment_id is not None and NRP_SCOPE not in token.scopes:
            raise Forbidden(f"Token sem os escopos exigidos: {NRP_SCOPE}.")
        request_body_validator(SPEC, "paymentsPostPixPayments")(request.data)
        client = request_client(request)
        items = request.data["data"]
        # The key travels with the payments: a retry of this request after a crash resumes them.
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER, "")
        if enrollment_id is None:
            payments = payment_create(client=client, consent_id=token.consent_id, items=items, request_key=key)
        else:
            payments = payment_create_with_enrollment(
                client=client, enrollment_id=enrollment_id, items=items, request_key=key
            )
        path = reverse("payments-v4:pix-payment-detail", kwargs={"payment_id": payments[0].payment_id})
        return Response(
            {"data": [payment_to_wire(p) for p in payments], "links": self_link(request, path), "meta": meta()},
            status=201,
        )


class PixPaymentDetailApi(OfbApiView):
    """GET and PATCH (cancel) /pix/payments/{paymentId}."""

    @regulated_operation(SPEC, "paymentsGetPixPaymentsPaymentId")
    def get(self, request: Request, payment_id: str) -> Response:
        payment = payment_refresh(payment=payment_get_for_client(client=request_client(request), payment_id=payment_id))
        return Response({"data": payment_to_wire(payment), "links": self_link(request), "meta": meta()})

    @regulated_operation(SPEC, "paymentsPatchPixPaymentsPaymentId")
    def patch(self, request: Request, payment_id: str) -> Response:
        document, rel = _cancellation_request(request, "paymentsPatchPixPaymentsPaymentId")
        payment = payment_cancel(
            payment_id=payment_id,
            client=request_client(request),
            cancelled_from=CancelledFrom.INICIADORA,
            document=document,
            rel=rel,
            actor=f"tpp:{request_client(request).client_id}",
        )
        return Response({"data": payment_to_wire(payment), "links": self_link(request), "meta": meta()})


class PixPaymentsConsentCancelApi(OfbApiView):
    """PATCH /pix/payments/consents/{consentId}: cancels every SCHD/PDNG payment of the consent."""

    idempotency_key_required = True

    @regulated_operation(SPEC, "paymentsPatchPixPaymentsConsentId")
    @idempotent("payments-v4:pix-payments-cancel-consent", atomic=False)
    def patch(self, request: Request, consent_id: str) -> Response:
        document, rel = _cancellation_request(request, "paymentsPatchPixPaymentsConsentId")
        payments = payments_cancel_for_consent(
            client=request_client(request),
            consent_id=consent_id,
            document=document,
            rel=rel,
            actor=f"tpp:{request_client(request).client_id}",
        )
        data = [{"paymentId": p.payment_id, "statusUpdateDateTime": rfc3339(p.status_updated_at)} for p in payments]
        return Response({"data": data, "links": self_link(request), "meta": meta()})
