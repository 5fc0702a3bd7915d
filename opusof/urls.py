from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from opusof.health import health

urlpatterns = [
    path("health", health, name="health"),
    path(".well-known/", include("opusof.api.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("open-banking/payments/v4/", include("payments.api.urls_v4")),
    path("open-banking/automatic-payments/v2/", include("recurring.api.urls")),
    path("open-banking/enrollments/v2/", include("enrollments.api.urls_v2")),
    # Initiator gateway (Opus TPP API): the company's applications, holder webhooks, backoffice.
    path("", include("initiator.api.urls")),
    # Authorisation server and the customer consent pages (FAPI / OFB security profile).
    path("", include("opusof.authserver.urls")),
]
