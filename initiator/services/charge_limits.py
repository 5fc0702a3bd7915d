"""The limits a recurring consent sets (automatic-payments-2.0.0.yml ``RecurringConfiguration``), checked before a
charge is sent so one that cannot succeed is reported to the application instead of refused by the holder: per
transaction (sweeping ``transactionLimit``, Pix Automático ``fixedAmount`` / ``minimumVariableAmount`` /
``maximumVariableAmount``), per period (sweeping ``periodicLimits`` day/week/month/year: quantity and amount) and in
total (sweeping ``totalAllowedAmount``). What counts is every payment of the consent not refused or cancelled."""

import datetime as dt
from decimal import Decimal
from typing import Any

from initiator.models import InitiatorPayment, PaymentStatus, ScheduledCharge


def _committed(charge: ScheduledCharge) -> list[tuple[dt.date, Decimal]]:
    payments = InitiatorPayment.objects.filter(consent=charge.consent).exclude(
        status__in=[PaymentStatus.RJCT, PaymentStatus.CANC]
    )
    counted = []
    for body in payments.values_list("request_body", flat=True):
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict):
            counted.append((dt.date.fromisoformat(str(data["date"])), Decimal(str(data["payment"]["amount"]))))
    return counted


def _same_period(period: str, one: dt.date, other: dt.date) -> bool:
    if period == "day":
        return one == other
    if period == "week":
        return one.isocalendar()[:2] == other.isocalendar()[:2]
    if period == "month":
        return (one.year, one.month) == (other.year, other.month)
    return one.year == other.year


def _money(block: dict[str, Any], name: str) -> Decimal | None:
    value = block.get(name)
    return Decimal(str(value)) if value not in (None, "") else None


def limit_refusal(charge: ScheduledCharge, today: dt.date) -> str:
    """Why the consent's limits leave no room for ``charge`` (the regulated code the holder would answer), or ""."""
    configuration = charge.consent.request_body.get("data", {}).get("recurringConfiguration", {})
    amount, day = charge.amount, charge.due_date if not charge.original_payment_id else today
    automatic = configuration.get("automatic")
    if isinstance(automatic, dict):
        fixed = _money(automatic, "fixedAmount")
        if fixed is not None and amount != fixed:
            return f"PAGAMENTO_DIVERGENTE_CONSENTIMENTO: valor {amount} difere de fixedAmount {fixed}."
        maximum, minimum = _money(automatic, "maximumVariableAmount"), _money(automatic, "minimumVariableAmount")
        if maximum is not None and amount > maximum:
            return f"LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO: {amount} acima de {maximum}."
        if minimum is not None and amount < minimum:
            return f"PAGAMENTO_DIVERGENTE_CONSENTIMENTO: {amount} abaixo de {minimum}."
        return ""
    sweeping = configuration.get("sweeping")
    if not isinstance(sweeping, dict):
        return ""
    per_transaction = _money(sweeping, "transactionLimit")
    if per_transaction is not None and amount > per_transaction:
        return f"LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO: {amount} acima de {per_transaction}."
    committed = _committed(charge)
    total = _money(sweeping, "totalAllowedAmount")
    if total is not None and sum((a for _, a in committed), Decimal(0)) + amount > total:
        return f"LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO: total permitido {total}."
    for period, limits in (sweeping.get("periodicLimits") or {}).items():
        if not isinstance(limits, dict):
            continue
        in_period = [a for d, a in committed if _same_period(period, d, day)]
        quantity = limits.get("quantityLimit")
        if isinstance(quantity, int) and len(in_period) + 1 > quantity:
            return f"LIMITE_PERIODO_QUANTIDADE_EXCEDIDO: {quantity} por {period}."
        value = _money(limits, "transactionLimit")
        if value is not None and sum(in_period, Decimal(0)) + amount > value:
            return f"LIMITE_PERIODO_VALOR_EXCEDIDO: {value} por {period}."
    return ""
