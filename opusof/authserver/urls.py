from django.urls import path

from opusof.authserver import pages, registration, views

app_name = "authserver"

urlpatterns = [
    path(".well-known/openid-configuration", views.openid_configuration, name="openid-configuration"),
    path("auth/jwks", views.server_jwks, name="jwks"),
    path("auth/par", views.pushed_authorisation_request, name="par"),
    path("auth/token", views.token, name="token"),
    path("auth/token/revoke", views.revoke, name="revoke"),
    path("auth/userinfo", views.userinfo, name="userinfo"),
    path("auth/token/introspect", views.introspect, name="introspect"),
    path("auth/register", registration.register, name="register"),
    path("auth/register/<str:client_id>", registration.manage, name="register-manage"),
    path("auth/authorize", pages.authorize, name="authorize"),
    path("auth/entrar/<str:flow>", pages.login, name="login"),
    path("auth/consentimento/<str:flow>", pages.consent, name="consent"),
    path("auth/sair", pages.logout, name="logout"),
    path("minhas-autorizacoes/entrar", pages.my_login, name="my-login"),
    path("minhas-autorizacoes/", pages.my_authorisations, name="my-authorisations"),
    path(
        "minhas-autorizacoes/consentimentos/<str:consent_id>/aprovar",
        pages.my_consent_approve,
        name="my-consent-approve",
    ),
    path("minhas-autorizacoes/pagamentos/<str:payment_id>/cancelar", pages.my_payment_cancel, name="my-payment-cancel"),
    path(
        "minhas-autorizacoes/recorrentes/<str:recurring_consent_id>/revogar",
        pages.my_recurring_revoke,
        name="my-recurring-revoke",
    ),
    path(
        "minhas-autorizacoes/recorrentes/<str:recurring_consent_id>/aprovacao",
        pages.my_recurring_decide,
        name="my-recurring-decide",
    ),
    path(
        "minhas-autorizacoes/vinculos/<str:enrollment_id>/cancelar",
        pages.my_enrollment_cancel,
        name="my-enrollment-cancel",
    ),
]
