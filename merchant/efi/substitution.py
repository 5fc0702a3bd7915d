"""Efí ``PATCH /v1/pagamentos-recorrentes/pix/{identificadorPagamento}/substituir/{endToEndId}``: a cancelled or
rejected parcel replaced through a new authorisation of the payer (scope ``gn.opb.payment.pix.send``)."""

from decimal import Decimal

from rest_framework.request import Request
from rest_framework.response import Response

from merchant import selectors
from merchant.efi.parse import AMOUNT
from merchant.efi.views import DIALECT, END_TO_END_ID, SEND, EfiApi
from merchant.errors import InvalidRequest, NotFound
from merchant.services.substitution import parcel_replace


class EfiRecurringPixReplaceApi(EfiApi):
    scopes = {"PATCH": SEND}

    def patch(self, request: Request, identifier: str, end_to_end_id: str) -> Response:
        merchant = self.merchant(request)
        body = request.data if request.data is not None else {}
        if not isinstance(body, dict):
            raise InvalidRequest("O corpo deve ser um objeto JSON.")
        amount: Decimal | None = None
        if "valor" in body:
            value = body["valor"]
            if not isinstance(value, str) or not AMOUNT.match(value) or Decimal(value) <= 0:
                raise InvalidRequest('valor deve ser um valor positivo com duas casas (ex.: "9.99").', field="valor")
            amount = Decimal(value)
        if not END_TO_END_ID.fullmatch(end_to_end_id):
            raise NotFound("Parcela não encontrada neste pagamento recorrente.")
        plan = selectors.plan_get(merchant=merchant, identifier=identifier, dialect=DIALECT)
        parcel = parcel_replace(plan=plan, end_to_end_id=end_to_end_id, amount=amount)
        # Efí answers the recurrence's identifier and where the payer authorises the new parcel.
        return Response({"identificadorPagamento": plan.identifier, "redirectURI": parcel.redirect_uri})
