"""Consent limits of recurring payments, as pure functions (automatic payments v2, "Limites transacionais").

Periods are Brasília calendar periods: day 00:00-23:59; week Sunday 00:00 - Saturday 23:59; month = calendar month;
year = 1 Jan - 31 Dec. A payment belongs to the period of its settlement ``date`` (the Sao Paulo date the spec's
``date`` field names). Every payment not RJCT/CANC counts.
"""

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

PERIODS = ("day", "week", "month", "year")


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last Sao Paulo date (inclusive) of the ``period`` that contains ``day``."""
    if period == "day":
        return day, day
    if period == "week":
        # date.weekday(): Monday 0 … Sunday 6; the spec's week starts on Sunday.
        start = day - dt.timedelta(days=(day.weekday() + 1) % 7)
        return start, start + dt.timedelta(days=6)
    if period == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if period == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    raise ValueError(f"unknown period {period!r}")


@dataclass(frozen=True)
class Charge:
    """A payment already counted against the consent."""

    date: dt.date
    amount: Decimal


@dataclass(frozen=True)
class LimitBreach:
    code: str
    detail: str


def check_limits(
    config: dict[str, Any],
    charges: Iterable[Charge],
    *,
    amount: Decimal,
    day: dt.date,
    spent_total: Decimal | None = None,
) -> LimitBreach | None:
    """The first limit of ``config`` (the sweeping/vrp block) that ``amount`` on ``day`` breaks, given ``charges``
    (the consent's payments not RJCT/CANC). Order: per transaction, total, then each period by value and count."""
    history = list(charges)
    # ``spent_total``: the consent's whole history, when ``charges`` only holds the periods' window (earliest_day).
    spent = spent_total if spent_total is not None else sum((c.amount for c in history), Decimal("0"))
    transaction_limit = config.get("transactionLimit")
    if transaction_limit is not None and amount > Decimal(transaction_limit):
        return LimitBreach(
            "LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO",
            f"Valor {amount} acima do limite por transação de {transaction_limit}.",
        )
    total_limit = config.get("totalAllowedAmount")
    if total_limit is None:
        total_limit = (config.get("globalLimits") or {}).get("transactionLimit")
    if total_limit is not None and spent + amount > Decimal(total_limit):
        return LimitBreach(
            "LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO", f"Valor total do consentimento ({total_limit}) excedido."
        )
    periodic: dict[str, Any] = config.get("periodicLimits") or {}
    for period in PERIODS:
        block = periodic.get(period)
        if not block:
            continue
        start, end = period_bounds(period, day)
        in_period = [c for c in history if start <= c.date <= end]
        value_limit = block.get("transactionLimit")
        if value_limit is not None and sum((c.amount for c in in_period), Decimal("0")) + amount > Decimal(value_limit):
            return LimitBreach(
                "LIMITE_PERIODO_VALOR_EXCEDIDO", f"Limite de valor do período {period} ({value_limit}) excedido."
            )
        quantity_limit = block.get("quantityLimit")
        if quantity_limit is not None and len(in_period) + 1 > int(quantity_limit):
            return LimitBreach(
                "LIMITE_PERIODO_QUANTIDADE_EXCEDIDO",
                f"Limite de quantidade do período {period} ({quantity_limit}) excedido.",
            )
    return None


def earliest_day(day: dt.date) -> dt.date:
    """The first date any period containing ``day`` can reach back to (its year, or its week when that starts in
    December): charges before it cannot count against a periodic limit."""
    return min(period_bounds("year", day)[0], period_bounds("week", day)[0])
