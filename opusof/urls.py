from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from opusof import home
from opusof.api.edge import api_not_found
from opusof.authserver.throttling import admin_login
from opusof.health import health
from opusof.sandbox_clock import sandbox_clock

urlpatterns = [
    path("", home.index, name="index"),
    path("health", health, name="health"),
    path("sandbox/clock", sandbox_clock, name="sandbox-clock"),
    path(".well-known/", include("opusof.api.urls")),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", home.offline_docs(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    # SPECTACULAR_SETTINGS["REDOC_DIST"] points here: the sidecar's bundle without its CDN logo (opusof/home.py).
    path("api/redoc-dist/bundles/redoc.standalone.js", home.redoc_bundle, name="redoc-bundle"),
    path("api/redoc/", home.offline_docs(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    *(path(api["prefix"], home.api_root, {"api": name}, name=f"{name}-root") for name, api in home.APIS.items()),
    path("open-banking/payments/v4/", include("payments.api.urls_v4")),
    path("open-banking/automatic-payments/v2/", include("recurring.api.urls")),
    path("open-banking/enrollments/v2/", include("enrollments.api.urls_v2")),
    # Initiator gateway (Opus TPP API): applications, backoffice, and the holder webhooks it receives under
    # open-banking/webhook/ (so before the catch-all below).
    path("", include("initiator.api.urls")),
    # Merchant Pix APIs (merchant/): the Efí and Belvo dialects at their own paths.
    path("", include("merchant.efi.urls")),
    path("", include("merchant.belvo.urls")),
    # The demo shop (shop/): a merchant's pages calling the Efí dialect above over HTTP.
    path("loja/", include("shop.urls")),
    # Under the API prefix nothing falls through to Django's HTML 404 (its DEBUG page ignores handler404).
    re_path(r"^open-banking/(?P<unmatched>.*)$", api_not_found),
    # Authorisation server and the customer consent pages (FAPI / OFB security profile).
    path("", include("opusof.authserver.urls")),
]
