from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response

from consents.api.serializers import consent_to_wire
from consents.expiry import consent_refresh
from consents.selectors import consent_get_for_client
from consents.services import consent_create
from opusof.api.authentication import request_client
from opusof.api.idempotency import idempotent
from opusof.api.responses import meta, self_link
from opusof.api.schema import regulated_operation
from opusof.api.views import OfbApiView
from opusof.specs import request_body_validator

SPEC = "payments-4.0.0.yml"


class PaymentConsentCreateApi(OfbApiView):
    """POST /consents (paymentsPostConsents)."""

    idempotency_key_required = True

    @regulated_operation(SPEC, "paymentsPostConsents")
    @idempotent("payments-v4:consents-create")
    def post(self, request: Request) -> Response:
        request_body_validator(SPEC, "paymentsPostConsents")(request.data)
        consent = consent_create(client=request_client(request), data=request.data["data"])
        path = reverse("payments-v4:consent-detail", kwargs={"consent_id": consent.consent_id})
        return Response(
            {"data": consent_to_wire(consent), "links": self_link(request, path), "meta": meta()}, status=201
        )


class PaymentConsentDetailApi(OfbApiView):
    """GET /consents/{consentId} (paymentsGetConsentsConsentId)."""

    @regulated_operation(SPEC, "paymentsGetConsentsConsentId")
    def get(self, request: Request, consent_id: str) -> Response:
        consent = consent_refresh(consent=consent_get_for_client(client=request_client(request), consent_id=consent_id))
        return Response({"data": consent_to_wire(consent), "links": self_link(request), "meta": meta()})
