"""A merchant's recurrence as the payments v4 ``schedule`` block and its dates (payments v4 §1.8): the same
expansion the holder applies, so each parcel's endToEndId carries its settlement date."""

import calendar
import datetime as dt
from typing import Any

from merchant.errors import InvalidSchedule
from merchant.models import Recurrence

MAX_PAYMENTS = 60
MAX_MONTHLY = 24
MAX_DAYS_AHEAD = 730
WEEKDAYS = ["SEGUNDA_FEIRA", "TERCA_FEIRA", "QUARTA_FEIRA", "QUINTA_FEIRA", "SEXTA_FEIRA", "SABADO", "DOMINGO"]


def _monthly(year: int, month: int, day: int) -> dt.date:
    # A day missing from a month rolls to the next day, as the holder expands it.
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, day) if day <= last else dt.date(year, month, last) + dt.timedelta(days=1)


def build(recurrence: str, *, start: dt.date | None, quantity: int, dates: list[dt.date], info: str) -> dict[str, Any]:
    """The schedule block for the payer's bank. ``start`` is the first parcel's date (weekly: its weekday;
    monthly: its day of the month)."""
    if recurrence == Recurrence.CUSTOM:
        return {"custom": {"dates": [d.isoformat() for d in dates], "additionalInformation": info or "Recorrência"}}
    assert start is not None
    if recurrence == Recurrence.SINGLE or quantity == 1:
        return {"single": {"date": start.isoformat()}}
    if recurrence == Recurrence.DAILY:
        return {"daily": {"startDate": start.isoformat(), "quantity": quantity}}
    if recurrence == Recurrence.WEEKLY:
        return {
            "weekly": {"dayOfWeek": WEEKDAYS[start.weekday()], "startDate": start.isoformat(), "quantity": quantity}
        }
    return {"monthly": {"dayOfMonth": start.day, "startDate": start.isoformat(), "quantity": quantity}}


def expand(schedule: dict[str, Any]) -> list[dt.date]:
    if "single" in schedule:
        return [dt.date.fromisoformat(schedule["single"]["date"])]
    if "custom" in schedule:
        return sorted(dt.date.fromisoformat(d) for d in schedule["custom"]["dates"])
    (kind, block), *_ = schedule.items()
    start = dt.date.fromisoformat(block["startDate"])
    count = int(block["quantity"])
    if kind == "daily":
        return [start + dt.timedelta(days=i) for i in range(count)]
    if kind == "weekly":
        first = start + dt.timedelta(days=(WEEKDAYS.index(block["dayOfWeek"]) - start.weekday()) % 7)
        return [first + dt.timedelta(weeks=i) for i in range(count)]
    year, month, day = start.year, start.month, int(block["dayOfMonth"])
    listed = []
    for _ in range(count):
        listed.append(_monthly(year, month, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return listed


def check_bounds(schedule: dict[str, Any], *, today: dt.date) -> list[dt.date]:
    """The regulator's bounds, checked here so the merchant hears them in its dialect before any bank is asked."""
    dates = expand(schedule)
    if "custom" in schedule and len(set(dates)) != len(dates):
        raise InvalidSchedule("Datas repetidas na recorrência.", field="dates")
    if "custom" in schedule and len(dates) < 2:
        raise InvalidSchedule("Recorrência personalizada exige ao menos duas datas.", field="dates")
    if dates[0] <= today:
        raise InvalidSchedule(
            "A primeira cobrança deve ocorrer a partir do dia seguinte (D+1, horário de Brasília).", field="start"
        )
    if len(dates) > MAX_PAYMENTS or ("monthly" in schedule and len(dates) > MAX_MONTHLY):
        limit = MAX_MONTHLY if "monthly" in schedule else MAX_PAYMENTS
        raise InvalidSchedule(f"Quantidade de pagamentos acima do permitido ({limit}).", field="quantity")
    if dates[-1] > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidSchedule("Recorrência além do prazo máximo de dois anos.", field="quantity")
    return dates
