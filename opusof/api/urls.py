from django.urls import path

from opusof.api.views import holder_jwks

urlpatterns = [
    path("jwks.json", holder_jwks, name="holder-jwks"),
]
