"""Refunds in the Belvo dialect: our extension (Belvo's scheduled/recurring Pix documentation names no refunds;
docs/merchant.md "Refunds"), shaped as a sub-resource of the charge it returns money of, like the charge's cancel:

    POST /payments/br/payment-intents/{intent_id}/charges/{charge_id}/refunds/   {"amount", "description"?}
        Belvo-Idempotency-Key required; 201 with the refund (status PENDING until the merchant's bank answers)
    GET  the same path: the charge's refunds, paginated like the charges

Webhooks: ``webhook_type`` REFUNDS, ``webhook_code`` STATUS_UPDATE, bearer-secured like the others."""

import re
import uuid
from decimal import Decimal
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from merchant.belvo import render
from merchant.belvo.views import BASE, DIALECT, IDEMPOTENCY_HEADER, BelvoApi, page_of
from merchant.efi.parse import request_hash
from merchant.errors import InvalidRequest, NotFound
from merchant.models import Parcel, Plan
from merchant.services.refunds import RefundItem, refunds_request

AMOUNT = re.compile(r"[0-9]{1,15}\.[0-9]{2}")


def _charge(plan: Plan, charge_id: str) -> Parcel:
    try:
        parcel = plan.parcels.filter(pk=uuid.UUID(charge_id)).first()
    except ValueError:  # not a UUID
        parcel = None
    if parcel is None:
        raise NotFound("Charge not found.")
    return parcel


def refund_item(body: Any, parcel: Parcel) -> RefundItem:
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    amount = body.get("amount")
    if not isinstance(amount, str) or not AMOUNT.fullmatch(amount) or Decimal(amount) <= 0:
        raise InvalidRequest('amount must be a positive decimal string with two places (e.g. "5.00").', field="amount")
    description = body.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > 140:
        raise InvalidRequest("description must be a string of up to 140 characters.", field="description")
    return RefundItem(
        end_to_end_id=parcel.end_to_end_id, amount=Decimal(amount), description=description, field="amount"
    )


class BelvoChargeRefundsApi(BelvoApi):
    def post(self, request: Request, intent_id: str, charge_id: str) -> Response:
        plan = self.intent(request, intent_id)
        parcel = _charge(plan, charge_id)
        item = refund_item(request.data, parcel)
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > 72:
            raise InvalidRequest(f"{IDEMPOTENCY_HEADER} is required (up to 72 characters).", field=IDEMPOTENCY_HEADER)
        [refund] = refunds_request(
            merchant=plan.merchant,
            dialect=DIALECT,
            idempotency_key=key,
            request_hash=request_hash({"charge": str(parcel.id), **request.data}),
            items=[item],
            plan=plan,
        )
        return Response(render.refund_json(refund), status=201)

    def get(self, request: Request, intent_id: str, charge_id: str) -> Response:
        parcel = _charge(self.intent(request, intent_id), charge_id)
        refunds = list(parcel.refunds.select_related("parcel").order_by("created_at", "position"))
        page = page_of(request, refunds, f"{BASE}{parcel.plan_id}/charges/{parcel.id}/refunds/")
        page["results"] = [render.refund_json(refund) for refund in page["results"]]
        return Response(page)
