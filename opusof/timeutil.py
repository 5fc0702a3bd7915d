"""Time on the wire is UTC RFC 3339 without fractions; business dates are Sao Paulo's (payments v4 §0.4)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from opusof import clock


def business_tz() -> ZoneInfo:
    return ZoneInfo(settings.OPUSOF_BUSINESS_TIME_ZONE)


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_rfc3339() -> str:
    return rfc3339(timezone.now())


def business_date(value: dt.datetime | None = None) -> dt.date:
    """The Sao Paulo calendar date of an instant (the business clock's now by default, opusof/clock.py)."""
    return (value or clock.now()).astimezone(business_tz()).date()


def end_of_business_day(day: dt.date) -> dt.datetime:
    """23:59:59 Sao Paulo time of ``day``, as an aware datetime (cancellation and approval deadlines)."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=business_tz())
