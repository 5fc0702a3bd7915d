"""The Belvo dialect's endpoints (HTTP Basic with the merchant's client id and secret): views parse, call a
merchant service and render in Belvo's words."""

import base64
import binascii
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from merchant import selectors
from merchant.belvo import parse, render
from merchant.belvo.errors import belvo_exception_handler
from merchant.belvo.intents import intent_completion, intent_request
from merchant.errors import InvalidRequest, Unauthenticated
from merchant.models import Merchant, Plan
from merchant.services.merchants import merchant_authenticate
from merchant.services.plans import parcel_cancel, plan_cancel, plan_create

DIALECT = "belvo"
BASE = "/payments/br/payment-intents/"
PAGE_SIZE = 100
IDEMPOTENCY_HEADER = "Belvo-Idempotency-Key"


class BelvoApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_classes: list[Any] = []

    def get_exception_handler(self) -> Any:
        return belvo_exception_handler

    def merchant(self, request: Request) -> Merchant:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Invalid credentials.") from None
        if scheme.lower() != "basic":
            raise Unauthenticated("Invalid credentials.")
        return merchant_authenticate(client_id=client_id, client_secret=secret)

    def intent(self, request: Request, intent_id: str) -> Plan:
        return selectors.plan_get(merchant=self.merchant(request), identifier=intent_id, dialect=DIALECT)


def page_of(request: Request, items: list[Any], path: str) -> dict[str, Any]:
    raw = request.query_params.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise InvalidRequest("page must be a positive integer.", field="page")
    paginator = Paginator(items, PAGE_SIZE)
    number = int(raw)
    try:
        results = list(paginator.page(number))
    except EmptyPage:
        results = []
    return {
        "count": paginator.count,
        "next": f"{path}?page={number + 1}" if number < paginator.num_pages else None,
        "previous": f"{path}?page={number - 1}" if 1 < number <= paginator.num_pages else None,
        "results": results,
    }


class BelvoPaymentIntentsApi(BelvoApi):
    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > 72:
            raise InvalidRequest(f"{IDEMPOTENCY_HEADER} is required (up to 72 characters).", field=IDEMPOTENCY_HEADER)
        plan_request = intent_request(merchant, request.data)
        plan = plan_create(
            merchant=merchant,
            dialect=DIALECT,
            idempotency_key=key,
            request_hash=parse.request_hash(request.data),
            request=plan_request,
        )
        return Response(render.intent_json(plan), status=201)

    def get(self, request: Request) -> Response:
        merchant = self.merchant(request)
        plans = (
            Plan.objects.filter(merchant=merchant, dialect=DIALECT).prefetch_related("parcels").order_by("-created_at")
        )
        page = page_of(request, list(plans), BASE)
        page["results"] = [render.intent_json(plan) for plan in page["results"]]
        return Response(page)


class BelvoPaymentIntentApi(BelvoApi):
    def get(self, request: Request, intent_id: str) -> Response:
        return Response(render.intent_json(self.intent(request, intent_id)))

    def patch(self, request: Request, intent_id: str) -> Response:
        """Completes an intent created with ``confirm: false``: its payer institution and beneficiary account (by
        id), and ``confirm: true`` sends it to the payer's bank."""
        plan = intent_completion(self.intent(request, intent_id), request.data)
        return Response(render.intent_json(plan))


class BelvoPaymentIntentCancelApi(BelvoApi):
    def post(self, request: Request, intent_id: str) -> Response:
        plan_cancel(plan=self.intent(request, intent_id), actor="merchant:cancel")
        return Response(status=204)


class BelvoChargesApi(BelvoApi):
    def get(self, request: Request, intent_id: str) -> Response:
        plan = self.intent(request, intent_id)
        page = page_of(request, list(plan.parcels.order_by("sequence")), f"{BASE}{plan.id}/charges/")
        page["results"] = [render.charge_json(parcel) for parcel in page["results"]]
        return Response(page)


class BelvoChargeCancelApi(BelvoApi):
    def post(self, request: Request, intent_id: str, charge_id: str) -> Response:
        parcel = parcel_cancel(plan=self.intent(request, intent_id), parcel_id=charge_id, actor="merchant:cancel")
        return Response(render.charge_json(parcel))
