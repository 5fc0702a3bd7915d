import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consents.schedules import MAX_DAYS_AHEAD, WEEKDAYS, ScheduleError, expand_schedule, validate_schedule

TODAY = dt.date(2026, 11, 23)
starts = st.dates(min_value=dt.date(2026, 11, 24), max_value=dt.date(2027, 12, 31))


@given(start=starts, quantity=st.integers(2, 60))
def test_daily_is_consecutive_days(start, quantity):
    dates = expand_schedule({"daily": {"startDate": start.isoformat(), "quantity": quantity}})
    assert len(dates) == quantity
    assert dates[0] == start
    assert all((b - a).days == 1 for a, b in pairwise(dates))


@given(start=starts, quantity=st.integers(2, 60), day=st.sampled_from(sorted(WEEKDAYS)))
def test_weekly_falls_on_the_day_a_week_apart(start, quantity, day):
    dates = expand_schedule({"weekly": {"dayOfWeek": day, "startDate": start.isoformat(), "quantity": quantity}})
    assert len(dates) == quantity
    assert all(d.weekday() == WEEKDAYS[day] for d in dates)
    assert start <= dates[0] < start + dt.timedelta(days=7)
    assert all((b - a).days == 7 for a, b in pairwise(dates))


@given(start=starts, quantity=st.integers(2, 24), day=st.integers(1, 31))
def test_monthly_one_per_month_and_missing_days_roll_forward(start, quantity, day):
    dates = expand_schedule({"monthly": {"dayOfMonth": day, "startDate": start.isoformat(), "quantity": quantity}})
    assert len(dates) == quantity
    assert dates[0] >= start
    assert dates == sorted(dates)
    for date in dates:
        # Either the day itself, or the 1st of the next month when the month is too short (v4 day 29/30/31 rule).
        assert date.day == day or (date.day == 1 and day > 28)
    months = {((d - dt.timedelta(days=1)) if d.day == 1 and day > 28 else d).strftime("%Y-%m") for d in dates}
    assert len(months) == quantity


def test_monthly_day_31_in_february_is_march_first():
    dates = expand_schedule({"monthly": {"dayOfMonth": 31, "startDate": "2027-01-31", "quantity": 3}})
    assert dates == [dt.date(2027, 1, 31), dt.date(2027, 3, 1), dt.date(2027, 3, 31)]


@given(dates=st.lists(starts, min_size=2, max_size=60, unique=True))
def test_custom_is_sorted_and_kept(dates):
    expanded = expand_schedule({"custom": {"dates": [d.isoformat() for d in dates], "additionalInformation": "x"}})
    assert expanded == sorted(dates)


def test_single_bounds():
    assert validate_schedule({"single": {"date": "2026-11-24"}}, today=TODAY) == [dt.date(2026, 11, 24)]
    with pytest.raises(ScheduleError) as today_error:
        validate_schedule({"single": {"date": TODAY.isoformat()}}, today=TODAY)
    assert today_error.value.code == "DATA_PAGAMENTO_INVALIDA"
    last = TODAY + dt.timedelta(days=MAX_DAYS_AHEAD)
    assert validate_schedule({"single": {"date": last.isoformat()}}, today=TODAY) == [last]
    with pytest.raises(ScheduleError) as far:
        validate_schedule({"single": {"date": (last + dt.timedelta(days=1)).isoformat()}}, today=TODAY)
    assert far.value.code == "DATA_PAGAMENTO_INVALIDA"


def test_two_years_bound_for_recurrences():
    with pytest.raises(ScheduleError) as error:
        validate_schedule({"monthly": {"dayOfMonth": 5, "startDate": "2028-06-01", "quantity": 24}}, today=TODAY)
    assert (error.value.code, error.value.detail) == (
        "PARAMETRO_INVALIDO",
        "Quantidade permitida de pagamentos excedida",
    )


def test_more_than_sixty_custom_dates_rejected():
    dates = [(TODAY + dt.timedelta(days=i)).isoformat() for i in range(1, 62)]
    with pytest.raises(ScheduleError) as error:
        validate_schedule({"custom": {"dates": dates, "additionalInformation": "x"}}, today=TODAY)
    assert error.value.code == "PARAMETRO_INVALIDO"


def test_custom_duplicates_rejected():
    with pytest.raises(ScheduleError) as error:
        validate_schedule(
            {"custom": {"dates": ["2026-12-01", "2026-12-01"], "additionalInformation": "x"}}, today=TODAY
        )
    assert error.value.code == "PARAMETRO_INVALIDO"


def test_recurrence_starting_today_rejected():
    with pytest.raises(ScheduleError) as error:
        validate_schedule({"daily": {"startDate": TODAY.isoformat(), "quantity": 3}}, today=TODAY)
    assert error.value.code == "DATA_PAGAMENTO_INVALIDA"
