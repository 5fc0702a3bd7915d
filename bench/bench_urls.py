"""The product's URLs plus the reference the developers' guide quotes: a minimal DRF view that runs one
PostgreSQL query and returns a PS256-signed body. Its req/s on the same run is the ceiling to compare with."""

from django.http import HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.views import APIView

from opusof.jose import sign_payload
from opusof.models import TppClient


class ReferenceSignedView(APIView):
    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    def get(self, request: Request) -> HttpResponse:
        name = TppClient.objects.values_list("name", flat=True).first()
        return HttpResponse(sign_payload({"data": {"name": name}}, audience="bench"), content_type="application/jwt")


urlpatterns = [
    path("bench/reference", ReferenceSignedView.as_view()),
    path("", include("opusof.urls")),
]
