"""Efí's refund endpoint: POST /v1/pagamentos-recorrentes/pix/{identificadorPagamento}/devolver (scope
gn.opb.payment.pix.refund) with ``{"devolucoes": [{"endToEndId", "valor"}]}``, answered 202 with one item per
refund, ``pendente`` until the merchant's bank answers (then a webhook ``tipo: devolucao``)."""

import re
import uuid
from decimal import Decimal
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from merchant import selectors
from merchant.efi import render
from merchant.efi.parse import AMOUNT, request_hash
from merchant.efi.views import DIALECT, END_TO_END_ID, REFUND, EfiApi
from merchant.errors import InvalidRequest
from merchant.services.refunds import RefundItem, refunds_request

MAX_ITEMS = 100  # not a documented limit of Efí's; bounds one request's transaction


def refund_items(body: Any) -> list[RefundItem]:
    listed = body.get("devolucoes") if isinstance(body, dict) else None
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_ITEMS:
        raise InvalidRequest(f"devolucoes é obrigatório (lista de 1 a {MAX_ITEMS} itens).", field="devolucoes")
    items = []
    for n, item in enumerate(listed):
        path = f"devolucoes[{n}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{path} deve ser um objeto.", field=path)
        end_to_end_id = item.get("endToEndId")
        if not isinstance(end_to_end_id, str) or not END_TO_END_ID.fullmatch(end_to_end_id):
            raise InvalidRequest(f"{path}.endToEndId em formato inválido.", field=f"{path}.endToEndId")
        value = item.get("valor")
        if not isinstance(value, str) or not AMOUNT.match(value) or Decimal(value) <= 0:
            raise InvalidRequest(
                f'{path}.valor deve ser um valor positivo com duas casas (ex.: "0.01").', field=f"{path}.valor"
            )
        items.append(RefundItem(end_to_end_id=end_to_end_id, amount=Decimal(value), field=f"{path}.endToEndId"))
    return items


class EfiRecurringPixRefundApi(EfiApi):
    scopes = {"POST": REFUND}

    def post(self, request: Request, identifier: str) -> Response:
        merchant = self.merchant(request)
        # Efí: "a valid endToEndId in the parameter" and the recurrence's identifier elsewhere; either must be the
        # merchant's. The items may name parcels of other recurrences of the merchant: the seed's own answer lists
        # two identificadorPagamento for one call.
        if END_TO_END_ID.fullmatch(identifier):
            selectors.parcel_by_end_to_end_id(merchant=merchant, end_to_end_id=identifier, dialect=DIALECT)
        else:
            selectors.plan_get(merchant=merchant, identifier=identifier, dialect=DIALECT)
        items = refund_items(request.data)
        key = request.headers.get("x-idempotency-key", "").strip() or str(uuid.uuid4())
        if len(key) > 72 or not re.fullmatch(r"[\x21-\x7e]+", key):
            raise InvalidRequest("x-idempotency-key deve ter até 72 caracteres visíveis.", field="x-idempotency-key")
        refunds = refunds_request(
            merchant=merchant,
            dialect=DIALECT,
            idempotency_key=key,
            request_hash=request_hash(request.data),
            items=items,
        )
        return Response([render.refund_json(refund) for refund in refunds], status=202)
