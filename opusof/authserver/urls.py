from django.urls import path

from opusof.authserver import registration, views
from opusof.authserver.pages import login, my_authorisations, review

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
    path("auth/authorize", login.authorize, name="authorize"),
    path("auth/entrar/<str:flow>", login.login, name="login"),
    path("auth/consentimento/<str:flow>", review.consent, name="consent"),
    path("auth/sair", login.logout, name="logout"),
    path("minhas-autorizacoes/entrar", login.my_login, name="my-login"),
    path("minhas-autorizacoes/", my_authorisations.my_authorisations, name="my-authorisations"),
    path(
        "minhas-autorizacoes/consentimentos/<str:consent_id>/aprovar",
        my_authorisations.my_consent_approve,
        name="my-consent-approve",
    ),
    path(
        "minhas-autorizacoes/pagamentos/<str:payment_id>/cancelar",
        my_authorisations.my_payment_cancel,
        name="my-payment-cancel",
    ),
    path(
        "minhas-autorizacoes/recorrentes/<str:recurring_consent_id>/revogar",
        my_authorisations.my_recurring_revoke,
        name="my-recurring-revoke",
    ),
    path(
        "minhas-autorizacoes/recorrentes/<str:recurring_consent_id>/aprovacao",
        my_authorisations.my_recurring_decide,
        name="my-recurring-decide",
    ),
    path(
        "minhas-autorizacoes/vinculos/<str:enrollment_id>/cancelar",
        my_authorisations.my_enrollment_cancel,
        name="my-enrollment-cancel",
    ),
]
