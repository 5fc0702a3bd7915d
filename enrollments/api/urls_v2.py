"""Enrollments API 2.1.0 under /open-banking/enrollments/v2/."""

from django.urls import path

from enrollments.api.views import (
    ConsentAuthoriseApi,
    EnrollmentCreateApi,
    EnrollmentDetailApi,
    EnrollmentRiskSignalsApi,
    FidoRegistrationApi,
    FidoRegistrationOptionsApi,
    FidoSignOptionsApi,
)

app_name = "enrollments-v2"

urlpatterns = [
    path("enrollments", EnrollmentCreateApi.as_view(), name="enrollment-create"),
    path("enrollments/<str:enrollment_id>", EnrollmentDetailApi.as_view(), name="enrollment-detail"),
    path("enrollments/<str:enrollment_id>/risk-signals", EnrollmentRiskSignalsApi.as_view(), name="risk-signals"),
    path(
        "enrollments/<str:enrollment_id>/fido-registration-options",
        FidoRegistrationOptionsApi.as_view(),
        name="fido-registration-options",
    ),
    path("enrollments/<str:enrollment_id>/fido-registration", FidoRegistrationApi.as_view(), name="fido-registration"),
    path("enrollments/<str:enrollment_id>/fido-sign-options", FidoSignOptionsApi.as_view(), name="fido-sign-options"),
    path("consents/<str:consent_id>/authorise", ConsentAuthoriseApi.as_view(), name="consent-authorise"),
]
