"""Enrollments API 2.1.0 (enrollments-2.1.0.yml): one view per operation on the payments v4 cross-cutting layer
(OfbApiView: headers, token, JWS; @idempotent; the regulator's own request schemas)."""

from typing import Any

from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response

from enrollments.api.serializers import enrollment_to_wire
from enrollments.consent_authorisation import consent_authorise_with_fido, fido_sign_options_create
from enrollments.expiry import enrollment_refresh
from enrollments.models import CancelledFrom
from enrollments.registration import fido_registration_complete, fido_registration_options_create
from enrollments.selectors import enrollment_get_for_client
from enrollments.services import (
    check_permissions_supported,
    enrollment_cancel,
    enrollment_create,
    enrollment_risk_signals,
)
from opusof.api.authentication import request_client, request_token
from opusof.api.errors import Forbidden
from opusof.api.idempotency import idempotent
from opusof.api.responses import meta, self_link
from opusof.api.schema import regulated_operation
from opusof.api.views import OfbApiView
from opusof.errors import ParameterInvalid
from opusof.specs import request_body_validator

SPEC = "enrollments-2.1.0.yml"


class EnrollmentsApiView(OfbApiView):
    """Every POST and the PATCH of this API document 422 PARAMETRO_NAO_INFORMADO / PARAMETRO_INVALIDO; only the GET
    answers syntax errors with 400."""

    idempotency_key_required = True

    def parameter_error_status(self, request: Request) -> int:
        return 422 if request.method in ("POST", "PATCH") else 400


def _require_enrollment_scope(request: Request, enrollment_id: str) -> None:
    """The hybrid-flow token of the enrollment journey carries the dynamic scope ``enrollment:{enrollmentId}``
    (security OAuth2AuthorizationCode); a token of another enrollment gives no access."""
    token = request_token(request)
    if f"enrollment:{enrollment_id}" not in token.scopes and token.consent_id != enrollment_id:
        raise Forbidden("O token não está vinculado a este vínculo de conta.")


def _tpp(request: Request) -> str:
    return f"tpp:{request_client(request).client_id}"


class EnrollmentCreateApi(EnrollmentsApiView):
    """POST /enrollments (postEnrollments)."""

    @regulated_operation(SPEC, "postEnrollments")
    @idempotent("enrollments-v2:enrollments-create")
    def post(self, request: Request) -> Response:
        try:
            request_body_validator(SPEC, "postEnrollments")(request.data)
        except ParameterInvalid:
            check_permissions_supported(request.data)
            raise
        enrollment = enrollment_create(client=request_client(request), data=request.data["data"])
        path = reverse("enrollments-v2:enrollment-detail", kwargs={"enrollment_id": enrollment.enrollment_id})
        return Response(
            {"data": enrollment_to_wire(enrollment), "links": self_link(request, path), "meta": meta()}, status=201
        )


class EnrollmentDetailApi(EnrollmentsApiView):
    """GET (getEnrollment) and PATCH (deleteEnrollment: reject or revoke, 204) /enrollments/{enrollmentId}."""

    @regulated_operation(SPEC, "getEnrollment")
    def get(self, request: Request, enrollment_id: str) -> Response:
        enrollment = enrollment_refresh(
            enrollment=enrollment_get_for_client(client=request_client(request), enrollment_id=enrollment_id)
        )
        return Response({"data": enrollment_to_wire(enrollment), "links": self_link(request), "meta": meta()})

    @regulated_operation(SPEC, "deleteEnrollment")
    @idempotent("enrollments-v2:enrollments-cancel")
    def patch(self, request: Request, enrollment_id: str) -> Response:
        request_body_validator(SPEC, "deleteEnrollment")(request.data)
        cancellation: dict[str, Any] = request.data["data"]["cancellation"]
        reason = cancellation["reason"]
        document = (cancellation.get("cancelledBy") or {}).get("document") or {}
        enrollment_cancel(
            enrollment_id=enrollment_id,
            client=request_client(request),
            rejection_reason=reason.get("rejectionReason"),
            revocation_reason=reason.get("revocationReason"),
            cancelled_from=CancelledFrom.INICIADORA,
            actor=_tpp(request),
            document=document.get("identification", ""),
            rel=document.get("rel", ""),
            additional_information=cancellation.get("additionalInformation", ""),
        )
        return Response(status=204)


class EnrollmentRiskSignalsApi(EnrollmentsApiView):
    """POST /enrollments/{enrollmentId}/risk-signals (riskSignals, 204)."""

    @regulated_operation(SPEC, "riskSignals")
    @idempotent("enrollments-v2:risk-signals")
    def post(self, request: Request, enrollment_id: str) -> Response:
        request_body_validator(SPEC, "riskSignals")(request.data)
        enrollment_risk_signals(
            client=request_client(request), enrollment_id=enrollment_id, signals=request.data["data"]
        )
        return Response(status=204)


class FidoRegistrationOptionsApi(EnrollmentsApiView):
    """POST /enrollments/{enrollmentId}/fido-registration-options (enrollmentCreateFidoRegistrationOptions)."""

    allowed_grant_types = frozenset({"authorization_code"})
    required_scopes = frozenset({"openid", "payments"})

    @regulated_operation(SPEC, "enrollmentCreateFidoRegistrationOptions")
    @idempotent("enrollments-v2:fido-registration-options")
    def post(self, request: Request, enrollment_id: str) -> Response:
        _require_enrollment_scope(request, enrollment_id)
        request_body_validator(SPEC, "enrollmentCreateFidoRegistrationOptions")(request.data)
        data = request.data["data"]
        enrollment, options = fido_registration_options_create(
            client=request_client(request), enrollment_id=enrollment_id, rp_id=data["rp"], platform=data["platform"]
        )
        return Response({"data": {"enrollmentId": enrollment.enrollment_id, **options}, "meta": meta()}, status=201)


class FidoRegistrationApi(EnrollmentsApiView):
    """POST /enrollments/{enrollmentId}/fido-registration (enrollmentRegisterFidoCredential, 204)."""

    allowed_grant_types = frozenset({"authorization_code"})
    required_scopes = frozenset({"openid", "payments"})

    @regulated_operation(SPEC, "enrollmentRegisterFidoCredential")
    @idempotent("enrollments-v2:fido-registration")
    def post(self, request: Request, enrollment_id: str) -> Response:
        _require_enrollment_scope(request, enrollment_id)
        request_body_validator(SPEC, "enrollmentRegisterFidoCredential")(request.data)
        fido_registration_complete(
            client=request_client(request), enrollment_id=enrollment_id, data=request.data["data"]
        )
        return Response(status=204)


class FidoSignOptionsApi(EnrollmentsApiView):
    """POST /enrollments/{enrollmentId}/fido-sign-options (enrollmentCreateFidoSigningOptions)."""

    @regulated_operation(SPEC, "enrollmentCreateFidoSigningOptions")
    @idempotent("enrollments-v2:fido-sign-options")
    def post(self, request: Request, enrollment_id: str) -> Response:
        request_body_validator(SPEC, "enrollmentCreateFidoSigningOptions")(request.data)
        data = request.data["data"]
        options = fido_sign_options_create(
            client=request_client(request),
            enrollment_id=enrollment_id,
            rp_id=data["rp"],
            platform=data["platform"],
            consent_id=data["consentId"],
        )
        return Response({"data": options, "meta": meta()}, status=201)


class ConsentAuthoriseApi(EnrollmentsApiView):
    """POST /consents/{consentId}/authorise (authorizeConsent, 204): the FIDO assertion authorises the consent."""

    allowed_grant_types = frozenset({"authorization_code"})
    required_scopes = frozenset({"openid", "payments", "nrp-consents"})

    @regulated_operation(SPEC, "authorizeConsent")
    @idempotent("enrollments-v2:consents-authorise")
    def post(self, request: Request, consent_id: str) -> Response:
        request_body_validator(SPEC, "authorizeConsent")(request.data)
        data = request.data["data"]
        _require_enrollment_scope(request, data["enrollmentId"])
        consent_authorise_with_fido(
            client=request_client(request),
            consent_id=consent_id,
            enrollment_id=data["enrollmentId"],
            assertion=data["fidoAssertion"],
            risk_signals=data["riskSignals"],
        )
        return Response(status=204)
