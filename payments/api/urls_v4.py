"""Payments API 4.0.0 under /open-banking/payments/v4/ (consents and Pix payments)."""

from django.urls import path

from consents.api.views import PaymentConsentCreateApi, PaymentConsentDetailApi
from payments.api.views import PixPaymentCreateApi, PixPaymentDetailApi, PixPaymentsConsentCancelApi

app_name = "payments-v4"

urlpatterns = [
    path("consents", PaymentConsentCreateApi.as_view(), name="consent-create"),
    path("consents/<str:consent_id>", PaymentConsentDetailApi.as_view(), name="consent-detail"),
    path("pix/payments", PixPaymentCreateApi.as_view(), name="pix-payment-create"),
    path("pix/payments/consents/<str:consent_id>", PixPaymentsConsentCancelApi.as_view(), name="pix-payments-consent"),
    path("pix/payments/<str:payment_id>", PixPaymentDetailApi.as_view(), name="pix-payment-detail"),
]
