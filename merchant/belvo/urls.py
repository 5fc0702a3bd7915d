from django.urls import path

from merchant.belvo import refunds, resources, views

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
    path("payments/br/customers/", resources.BelvoCustomersApi.as_view(), name="belvo-customers"),
    path("payments/br/customers/<str:customer_id>/", resources.BelvoCustomerApi.as_view(), name="belvo-customer"),
    path("payments/br/bank-accounts/", resources.BelvoBankAccountsApi.as_view(), name="belvo-bank-accounts"),
    path(
        "payments/br/bank-accounts/<str:account_id>/",
        resources.BelvoBankAccountApi.as_view(),
        name="belvo-bank-account",
    ),
    path("payments/br/institutions/", resources.BelvoInstitutionsApi.as_view(), name="belvo-institutions"),
    path(
        "payments/br/institutions/<str:institution_id>/",
        resources.BelvoInstitutionApi.as_view(),
        name="belvo-institution",
    ),
    path(
        f"{PREFIX}<str:intent_id>/charges/<str:charge_id>/refunds/",
        refunds.BelvoChargeRefundsApi.as_view(),
        name="belvo-charge-refunds",
    ),
]
