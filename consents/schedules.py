"""Expansion and bounds of ``payment.schedule`` (payments v4 §1.8 and "Quantidade máxima ... agendamentos").

Pure functions: given the schedule block as sent on the wire, the settlement dates it stands for.
"""

import calendar
import datetime as dt
from typing import Any

MAX_OCCURRENCES = 60
# "respeitando o prazo máximo de dois anos para agendamentos"; single dates D+1..D+730.
MAX_DAYS_AHEAD = 730
WEEKDAYS = {
    "SEGUNDA_FEIRA": 0,
    "TERCA_FEIRA": 1,
    "QUARTA_FEIRA": 2,
    "QUINTA_FEIRA": 3,
    "SEXTA_FEIRA": 4,
    "SABADO": 5,
    "DOMINGO": 6,
}


class ScheduleError(ValueError):
    """``code`` is the regulated 422 code for the problem."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _monthly_date(year: int, month: int, day_of_month: int) -> dt.date:
    """Day 29/30/31 missing from a month rolls to the next day, as the TPP's endToEndId does (v4 recurring rules)."""
    last = calendar.monthrange(year, month)[1]
    if day_of_month <= last:
        return dt.date(year, month, day_of_month)
    return dt.date(year, month, last) + dt.timedelta(days=1)


def expand_schedule(schedule: dict[str, Any]) -> list[dt.date]:
    """Dates of every occurrence, in order. Assumes the block passed the spec's schema."""
    if "single" in schedule:
        return [dt.date.fromisoformat(schedule["single"]["date"])]
    if "daily" in schedule:
        block = schedule["daily"]
        start = dt.date.fromisoformat(block["startDate"])
        return [start + dt.timedelta(days=i) for i in range(block["quantity"])]
    if "weekly" in schedule:
        block = schedule["weekly"]
        start = dt.date.fromisoformat(block["startDate"])
        first = start + dt.timedelta(days=(WEEKDAYS[block["dayOfWeek"]] - start.weekday()) % 7)
        return [first + dt.timedelta(weeks=i) for i in range(block["quantity"])]
    if "monthly" in schedule:
        block = schedule["monthly"]
        start = dt.date.fromisoformat(block["startDate"])
        day = block["dayOfMonth"]
        year, month = start.year, start.month
        if _monthly_date(year, month, day) < start:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        dates = []
        for _ in range(block["quantity"]):
            dates.append(_monthly_date(year, month, day))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return dates
    if "custom" in schedule:
        return sorted(dt.date.fromisoformat(value) for value in schedule["custom"]["dates"])
    raise ScheduleError("PARAMETRO_INVALIDO", "Tipo de agendamento não suportado.")


def validate_schedule(schedule: dict[str, Any], *, today: dt.date) -> list[dt.date]:
    """Expands and checks the bounds relative to the Sao Paulo ``today`` of the consent's creation."""
    if "custom" in schedule:
        raw_dates = schedule["custom"]["dates"]
        if len(set(raw_dates)) != len(raw_dates):
            raise ScheduleError("PARAMETRO_INVALIDO", "Datas duplicadas em schedule.custom.dates.")
    dates = expand_schedule(schedule)
    if len(dates) > MAX_OCCURRENCES or dates[-1] > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        if "single" in schedule:
            raise ScheduleError("DATA_PAGAMENTO_INVALIDA", "Data de agendamento além do prazo máximo de D+730.")
        raise ScheduleError("PARAMETRO_INVALIDO", "Quantidade permitida de pagamentos excedida")
    if dates[0] <= today:
        raise ScheduleError(
            "DATA_PAGAMENTO_INVALIDA", "Agendamentos devem ocorrer a partir de D+1 (horário de Brasília)."
        )
    return dates
