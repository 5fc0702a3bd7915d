"""Period-limit arithmetic (recurring.limits), property-based: month and year boundaries, Sunday-to-Saturday weeks,
Sao Paulo midnight, and the limit check against a brute-force oracle."""

import calendar
import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from opusof.timeutil import business_date
from recurring.limits import PERIODS, Charge, check_limits, earliest_day, period_bounds
from recurring.validation import reference_matches

DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500.00"), places=2)


@given(day=DAYS, period=st.sampled_from(PERIODS))
def test_bounds_contain_the_day_and_are_aligned(day, period):
    start, end = period_bounds(period, day)
    assert start <= day <= end
    if period == "day":
        assert start == end == day
    elif period == "week":
        assert (end - start).days == 6
        assert start.weekday() == 6  # Sunday
        assert end.weekday() == 5  # Saturday
    elif period == "month":
        assert start.day == 1 and start.month == end.month == day.month
        assert end.day == calendar.monthrange(day.year, day.month)[1]
        assert (end + dt.timedelta(days=1)).day == 1  # the next day starts a new month (year boundary too)
    else:
        assert (start, end) == (dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))


@given(a=DAYS, b=DAYS, period=st.sampled_from(PERIODS))
def test_two_days_share_a_period_iff_their_bounds_agree(a, b, period):
    start, end = period_bounds(period, a)
    assert (start <= b <= end) == (period_bounds(period, b) == (start, end))


@given(
    instant=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)
def test_sao_paulo_midnight_decides_the_day(instant):
    """An instant belongs to the Sao Paulo date: 02:59:59 UTC is still the previous day (UTC-3, no DST since 2019;
    earlier years had DST and the offset is read from the tz database)."""
    moment = instant.replace(tzinfo=dt.UTC)
    local = business_date(moment)
    from zoneinfo import ZoneInfo

    assert local == moment.astimezone(ZoneInfo("America/Sao_Paulo")).date()
    if moment.year >= 2020:
        assert local == (moment - dt.timedelta(hours=3)).date()


def oracle(limits, history, amount, day):
    """Straightforward re-statement of the spec's rules, one period at a time."""
    for period in PERIODS:
        block = limits.get(period)
        if not block:
            continue
        start, end = period_bounds(period, day)
        within = [c for c in history if start <= c.date <= end]
        if "transactionLimit" in block and sum(c.amount for c in within) + amount > Decimal(block["transactionLimit"]):
            return "LIMITE_PERIODO_VALOR_EXCEDIDO"
        if "quantityLimit" in block and len(within) >= block["quantityLimit"]:
            return "LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"
    return None


PERIOD_BLOCK = st.fixed_dictionaries(
    {},
    optional={
        "quantityLimit": st.integers(min_value=1, max_value=6),
        "transactionLimit": AMOUNTS.map(lambda d: f"{d * 4:.2f}"),
    },
)
# Histories and charges around month and year ends, where off-by-one windows would show.
EDGE_DAYS = st.sampled_from(
    [dt.date(2025, 12, 27) + dt.timedelta(days=i) for i in range(10)]
    + [dt.date(2024, 2, 25) + dt.timedelta(days=i) for i in range(10)]
    + [dt.date(2026, 6, 27) + dt.timedelta(days=i) for i in range(8)]
)


@given(
    limits=st.fixed_dictionaries({}, optional={p: PERIOD_BLOCK for p in PERIODS}),
    history=st.lists(st.builds(Charge, date=EDGE_DAYS, amount=AMOUNTS), max_size=12),
    amount=AMOUNTS,
    day=EDGE_DAYS,
)
def test_limit_check_matches_the_oracle(limits, history, amount, day):
    breach = check_limits({"periodicLimits": limits}, history, amount=amount, day=day)
    assert (breach.code if breach else None) == oracle(limits, history, amount, day)


@given(history=st.lists(AMOUNTS, max_size=10), amount=AMOUNTS, total=AMOUNTS.map(lambda d: d * 5))
def test_total_limit_is_inclusive(history, amount, total):
    charges = [Charge(date=dt.date(2026, 1, 1), amount=value) for value in history]
    breach = check_limits({"totalAllowedAmount": f"{total:.2f}"}, charges, amount=amount, day=dt.date(2026, 1, 2))
    assert (breach is not None) == (sum(history, Decimal("0")) + amount > total)


def test_previous_year_does_not_count_in_january():
    history = [Charge(date=dt.date(2025, 12, 31), amount=Decimal("100.00"))]
    limits = {
        "periodicLimits": {"year": {"quantityLimit": 1}, "month": {"quantityLimit": 1}, "week": {"quantityLimit": 2}}
    }
    assert check_limits(limits, history, amount=Decimal("1.00"), day=dt.date(2026, 1, 1)) is None
    # ...but the week (Sunday 28 Dec 2025 - Saturday 3 Jan 2026) spans the new year.
    limits["periodicLimits"]["week"] = {"quantityLimit": 1}
    breach = check_limits(limits, history, amount=Decimal("1.00"), day=dt.date(2026, 1, 1))
    assert breach is not None and breach.code == "LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"


# --- the day-29/30/31 rule of paymentReference -----------------------------------------------------------------------


def test_day_31_charge_in_a_short_month_rolls_to_the_first_and_references_the_short_month():
    assert reference_matches("M02-2026", "MENSAL", dt.date(2026, 3, 1), reference_day=31)
    assert reference_matches("M03-2026", "MENSAL", dt.date(2026, 3, 1), reference_day=31)
    assert not reference_matches("M01-2026", "MENSAL", dt.date(2026, 2, 1), reference_day=31)  # January has 31
    assert reference_matches("M02-2024", "MENSAL", dt.date(2024, 3, 1), reference_day=30)  # leap February: 29 days
    assert not reference_matches("M02-2024", "MENSAL", dt.date(2024, 3, 1), reference_day=29)


@given(day=DAYS)
def test_every_interval_references_its_own_period(day):
    iso_year, iso_week, _ = day.isocalendar()
    assert reference_matches(f"W{iso_week}-{iso_year}", "SEMANAL", day, reference_day=day.day)
    assert reference_matches(f"M{day.month:02d}-{day.year}", "MENSAL", day, reference_day=day.day)
    assert reference_matches(f"Q{(day.month - 1) // 3 + 1}-{day.year}", "TRIMESTRAL", day, reference_day=day.day)
    assert reference_matches(f"S{(day.month - 1) // 6 + 1}-{day.year}", "SEMESTRAL", day, reference_day=day.day)
    assert reference_matches(f"Y{day.year}", "ANUAL", day, reference_day=day.day)
    assert not reference_matches(f"Y{day.year + 1}", "ANUAL", day, reference_day=day.day)
    assert not reference_matches(f"M{day.month:02d}-{day.year}", "ANUAL", day, reference_day=day.day)


WIDE_DAYS = st.dates(min_value=dt.date(2024, 11, 1), max_value=dt.date(2027, 2, 28))


@given(
    limits=st.fixed_dictionaries({}, optional={p: PERIOD_BLOCK for p in PERIODS}),
    history=st.lists(st.builds(Charge, date=WIDE_DAYS, amount=AMOUNTS), max_size=15),
    amount=AMOUNTS,
    day=WIDE_DAYS,
    total=AMOUNTS.map(lambda d: f"{d * 10:.2f}"),
)
def test_the_windowed_history_decides_like_the_full_one(limits, history, amount, day, total):
    """The service loads only charges from earliest_day(day) on (plus the all-time sum for the total limit)."""
    config = {"periodicLimits": limits, "totalAllowedAmount": total}
    window = [c for c in history if c.date >= earliest_day(day)]
    spent = sum((c.amount for c in history), Decimal("0"))
    assert check_limits(config, window, amount=amount, day=day, spent_total=spent) == check_limits(
        config, history, amount=amount, day=day
    )
