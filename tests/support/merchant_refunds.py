"""Helpers of the merchant refund tests: plan bodies in both dialects that pay the demo merchant (12345678
90000001 CACC, an account the sandbox bank keeps) from Ana's account, the settlement of the parcels due on a day,
and refund connectors that fail in the ways a PSP can."""

import datetime as dt
from decimal import Decimal
from typing import Any

import time_machine
from django.core.cache import cache

from connectors.interfaces import ConnectorOutcomeUnknown
from connectors.refunds import PixRefundResult
from connectors.sandbox.refunds import SandboxRefunds
from merchant.services.plans import plans_sync_open
from opusof.timeutil import business_tz
from payments.scheduling import payments_run_due
from tests.support.payment_bodies import ANA_CPF, MERCHANT_CNPJ

MERCHANT_ACCOUNT_NUMBER = "90000001"


def own_holder() -> str:
    from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID

    return OWN_AUTHORISATION_SERVER_ID


def efi_plan_body(*, start: dt.date, quantity: int = 2, amount: str = "9.90") -> dict[str, Any]:
    return {
        "pagador": {"idParticipante": own_holder(), "cpf": ANA_CPF},
        "favorecido": {
            "contaBanco": {
                "nome": "Loja Exemplo Comercio Ltda",
                "documento": MERCHANT_CNPJ,
                "codigoBanco": "12345678",
                "agencia": "0001",
                "conta": MERCHANT_ACCOUNT_NUMBER,
                "tipoConta": "CACC",
            }
        },
        "pagamento": {
            "valor": amount,
            "idProprio": "pedido-77",
            "recorrencia": {"tipo": "diaria", "dataInicio": start.isoformat(), "quantidade": quantity},
        },
    }


def belvo_intent_body(*, start: dt.date, occurrences: int = 2, amount: str = "25.00") -> dict[str, Any]:
    return {
        "amount": amount,
        "description": "Clube do livro",
        "allowed_payment_method_types": ["open_finance"],
        "external_id": "pedido-belvo-9",
        "confirm": True,
        "customer": {"identifier": ANA_CPF, "name": "Ana"},
        "payment_method_details": {
            "open_finance": {
                "payer_institution": own_holder(),
                "callback_url": "https://loja.example.com/checkout/9",
                "schedule": {"daily": {"start_date": start.isoformat(), "occurrences": occurrences}},
                "beneficiary_bank_account": {
                    "holder": {"name": "Loja Exemplo Comercio Ltda", "identifier": MERCHANT_CNPJ},
                    "institution": "12345678",
                    "agency": "0001",
                    "number": MERCHANT_ACCOUNT_NUMBER,
                    "account_type": "CACC",
                },
            }
        },
    }


def settle_due_parcels(day: dt.date) -> None:
    """On ``day``'s clock: the holder's due sweep (the sandbox bank settles the scheduled Pix of that day) and the
    merchant's plan sync (the gateway reads them). Client-credentials tokens cached in Redis by real seconds are
    dropped around the jump."""
    cache.clear()
    with time_machine.travel(dt.datetime.combine(day, dt.time(12, 0), tzinfo=business_tz()), tick=True):
        payments_run_due()
        plans_sync_open()
    cache.clear()


class LosesAnswers(SandboxRefunds):
    """The PSP executes the devolução and the answer is lost on the way back."""

    sent = 0

    def send_pix_refund(
        self, *, refund_id: str, end_to_end_id: str, amount: Decimal, description: str = ""
    ) -> PixRefundResult:
        type(self).sent += 1
        super().send_pix_refund(refund_id=refund_id, end_to_end_id=end_to_end_id, amount=amount)
        raise ConnectorOutcomeUnknown("read timeout")
