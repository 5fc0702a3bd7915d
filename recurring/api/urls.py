"""Automatic payments API 2.0.0 under /open-banking/automatic-payments/v2/."""

from django.urls import path

from recurring.api.views import (
    RecurringConsentCreateApi,
    RecurringConsentDetailApi,
    RecurringPaymentDetailApi,
    RecurringPaymentsApi,
)

app_name = "automatic-payments-v2"

urlpatterns = [
    path("recurring-consents", RecurringConsentCreateApi.as_view(), name="recurring-consent-create"),
    path(
        "recurring-consents/<str:recurring_consent_id>",
        RecurringConsentDetailApi.as_view(),
        name="recurring-consent-detail",
    ),
    path("pix/recurring-payments", RecurringPaymentsApi.as_view(), name="pix-recurring-payments"),
    path(
        "pix/recurring-payments/<str:recurring_payment_id>",
        RecurringPaymentDetailApi.as_view(),
        name="pix-recurring-payment-detail",
    ),
]
