from django.urls import path, re_path

from initiator.api import automatic, backoffice, enrollments, proxy, views, webhooks

app_name = "initiator"

_ID = r"[^/]+"

urlpatterns = [
    path(".well-known/assetlinks.json", views.asset_links, name="assetlinks"),
    path(".well-known/apple-app-site-association", views.apple_app_site_association, name="apple-app-site"),
    path("opus-open-finance/participants", views.participants_list, name="participants"),
    path("opus-open-finance/dcm", views.dcm, name="dcm"),
    path("opus-open-finance/payments/v1/consents", views.consent_create, name="consents"),
    path("opus-open-finance/payments/v1/consents/<str:consent_id>", views.consent_get, name="consent"),
    path(
        "opus-open-finance/payments/v1/consents/<str:consent_id>/authorisation-retry",
        views.consent_retry,
        name="consent-retry",
    ),
    path(
        "opus-open-finance/automatic-payments/v1/recurring-consents",
        automatic.recurring_consent_create,
        name="recurring-consents",
    ),
    path(
        "opus-open-finance/automatic-payments/v1/recurring-consents/<str:recurring_consent_id>",
        automatic.recurring_consent,
        name="recurring-consent",
    ),
    path(
        "opus-open-finance/automatic-payments/v1/recurring-consents/<str:recurring_consent_id>/authorisation-retry",
        automatic.recurring_consent_retry,
        name="recurring-consent-retry",
    ),
    path(
        "opus-open-finance/automatic-payments/v1/recurring-consents/<str:recurring_consent_id>/charges",
        automatic.recurring_consent_charges,
        name="recurring-consent-charges",
    ),
    path("opus-open-finance/automatic-payments/v1/charges/<str:charge_id>", automatic.charge, name="charge"),
    path(
        "proxy/open-banking/automatic-payments/v2/pix/recurring-payments",
        automatic.recurring_payments,
        name="proxy-recurring-payments",
    ),
    path(
        "proxy/open-banking/automatic-payments/v2/pix/recurring-payments/<str:recurring_payment_id>",
        automatic.recurring_payment,
        name="proxy-recurring-payment",
    ),
    path("opus-open-finance/enrollments/v1/enrollments", enrollments.enrollment_create, name="enrollments"),
    path(
        "opus-open-finance/enrollments/v1/enrollments/<str:enrollment_id>",
        enrollments.enrollment,
        name="enrollment",
    ),
    path(
        "opus-open-finance/enrollments/v1/enrollments/<str:enrollment_id>/risk-signals",
        enrollments.risk_signals,
        name="enrollment-risk-signals",
    ),
    path(
        "opus-open-finance/enrollments/v1/enrollments/<str:enrollment_id>/fido-sign-options",
        enrollments.fido_sign_options,
        name="enrollment-fido-sign-options",
    ),
    path(
        "proxy/open-banking/enrollments/v2/enrollments/<str:enrollment_id>/fido-registration-options",
        enrollments.fido_registration_options,
        name="proxy-fido-registration-options",
    ),
    path(
        "proxy/open-banking/enrollments/v2/enrollments/<str:enrollment_id>/fido-registration",
        enrollments.fido_registration,
        name="proxy-fido-registration",
    ),
    path(
        "proxy/open-banking/enrollments/v2/consents/<str:consent_id>/authorise",
        enrollments.consent_authorise,
        name="proxy-consent-authorise",
    ),
    path(
        "proxy/open-banking/enrollments/v2/recurring-consents/<str:recurring_consent_id>/authorise",
        enrollments.recurring_consent_authorise,
        name="proxy-recurring-consent-authorise",
    ),
    path("opus-open-finance/authorization-result", views.authorisation_result, name="authorization-result"),
    path("opus-open-finance/payments/redirect-uri", views.redirect_uri, name="redirect-uri"),
    path("opus-open-finance/payments/redirect-uri/<slug:redirect_identifier>", views.redirect_uri, name="redirect"),
    path(
        "opus-open-finance/application/v1/external-client/<str:client_id>",
        views.external_client_get,
        name="external-client",
    ),
    path(
        "opus-open-finance/application/v1/application/<str:application_id>/external-client/<str:client_id>",
        views.external_client_set,
        name="external-client-set",
    ),
    path(
        "opus-open-finance/application/v1/application/<str:application_id>/webhook-url",
        views.webhook_url_set,
        name="webhook-url",
    ),
    path("proxy/open-banking/payments/v4/pix/payments", proxy.pix_payments, name="proxy-payments"),
    path(
        "proxy/open-banking/payments/v4/pix/payments/consents/<str:consent_id>",
        proxy.pix_payments_of_consent,
        name="proxy-payments-consent",
    ),
    path("proxy/open-banking/payments/v4/pix/payments/<str:payment_id>", proxy.pix_payment, name="proxy-payment"),
    re_path(
        rf"^open-banking/webhook/v1/payments/(?P<version>v\d+)/consents/(?P<resource_id>{_ID})$",
        webhooks.payment_consent,
        name="webhook-consent",
    ),
    re_path(
        rf"^open-banking/webhook/v1/payments/(?P<version>v\d+)/pix/payments/(?P<resource_id>{_ID})$",
        webhooks.pix_payment,
        name="webhook-payment",
    ),
    re_path(
        rf"^open-banking/webhook/v1/automatic-payments/(?P<version>v\d+)/recurring-consents/(?P<resource_id>{_ID})$",
        webhooks.payment_consent,
        name="webhook-recurring-consent",
    ),
    re_path(
        rf"^open-banking/webhook/v1/automatic-payments/(?P<version>v\d+)/pix/recurring-payments/(?P<resource_id>{_ID})$",
        webhooks.pix_payment,
        name="webhook-recurring-payment",
    ),
    re_path(
        rf"^open-banking/webhook/v1/enrollments/(?P<version>v\d+)/enrollments/(?P<resource_id>{_ID})$",
        webhooks.enrollment,
        name="webhook-enrollment",
    ),
    path("backoffice/consents", backoffice.consents, name="backoffice-consents"),
    path("backoffice/consents/<str:consent_id>/payments", backoffice.consent_payments, name="backoffice-payments"),
    path("backoffice/enrollments", backoffice.enrollments, name="backoffice-enrollments"),
]
