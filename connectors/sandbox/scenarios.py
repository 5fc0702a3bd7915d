"""Conformance-suite scenario amounts of the sandbox bank.

They apply only when ``settings.OPUSOF_SANDBOX_SCENARIOS`` is true (local, test and demo runs; production forces
it off), to any payment of the amount, after the bank's own checks (account, DICT, QR, limits, balance) pass:

| amount / proxy                   | effect                                                                  |
|----------------------------------|-------------------------------------------------------------------------|
| ``12345.00``, ``12345.67``       | initiation answers ``PDNG``; the first status read after the debtor     |
|                                  | account's ``settle_delay_seconds`` (default 2 s) settles it (``ACSC``)  |
| ``20201.00``                     | initiation answers ``RJCT`` with ``PAGAMENTO_RECUSADO_DETENTORA``       |
| ``1400.00``, scheduled           | initiation answers ``SCHD``; the next status read reports ``CANC``      |
|                                  | (cancelled by the holder)                                               |
| ``1334.00``                      | initiation answers ``ACPD`` and the payment stays there                 |
| ``1335.00``                      | initiation answers ``ACCP`` and the payment stays there                 |
| ``1336.00``                      | initiation answers ``ACSC`` (settled at once)                           |
| ``10422.00`` to ``10422.99``     | validate_payment_data reports ``NAO_INFORMADO``: consent creation       |
|                                  | answers 422 (``is_consent_rejection_scenario``)                         |
| ``20422.00`` to ``20422.99``     | initiation raises ``ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA")``: |
|                                  | 422 on the payment, the consent is consumed                             |
| proxy ``fakeperson@example.com`` | ``DETALHE_PAGAMENTO_INVALIDO`` (the key is not in the DICT)             |
"""

from decimal import Decimal

from django.conf import settings

from connectors.interfaces import BankPaymentStatus

PENDING_AMOUNTS = frozenset({Decimal("12345.00"), Decimal("12345.67")})
HOLDER_REJECTS = Decimal("20201.00")
HOLDER_CANCELS_SCHEDULED = Decimal("1400.00")
FIXED_STATUS = {
    Decimal("1334.00"): BankPaymentStatus.ACPD,
    Decimal("1335.00"): BankPaymentStatus.ACCP,
    Decimal("1336.00"): BankPaymentStatus.ACSC,
}
FAKE_PROXY = "fakeperson@example.com"


def scenarios_enabled() -> bool:
    return bool(getattr(settings, "OPUSOF_SANDBOX_SCENARIOS", False))


def is_consent_rejection_scenario(amount: Decimal) -> bool:
    """``10422.xx``: the consent is refused with 422 NAO_INFORMADO. Amount only; callers check the setting."""
    return Decimal("10422") <= amount < Decimal("10423")


def is_payment_rejection_scenario(amount: Decimal) -> bool:
    """``20422.xx``: the payment is refused with 422 PAGAMENTO_RECUSADO_DETENTORA. Amount only."""
    return Decimal("20422") <= amount < Decimal("20423")
