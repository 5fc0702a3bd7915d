from django.urls import path

from merchant.belvo import refunds, views

PREFIX = "payments/br/payment-intents/"

urlpatterns = [
    path(PREFIX, views.BelvoPaymentIntentsApi.as_view(), name="belvo-payment-intents"),
    path(f"{PREFIX}<str:intent_id>/", views.BelvoPaymentIntentApi.as_view(), name="belvo-payment-intent"),
    path(f"{PREFIX}<str:intent_id>/cancel/", views.BelvoPaymentIntentCancelApi.as_view(), name="belvo-intent-cancel"),
    path(f"{PREFIX}<str:intent_id>/charges/", views.BelvoChargesApi.as_view(), name="belvo-charges"),
    path(
        f"{PREFIX}<str:intent_id>/charges/<str:charge_id>/cancel/",
        views.BelvoChargeCancelApi.as_view(),
        name="belvo-charge-cancel",
    ),
    path(
        f"{PREFIX}<str:intent_id>/charges/<str:charge_id>/refunds/",
        refunds.BelvoChargeRefundsApi.as_view(),
        name="belvo-charge-refunds",
    ),
]
