"""The platform's business clock: real time, moved forward on demand in sandbox deployments (docs/sandbox.md).

A merchant trying a monthly plan cannot wait a month, so a sandbox can be told "it is 30 days later" (like Stripe's
test clocks). Every business decision reads the time here: what day it is in Sao Paulo (``today``), whether a
scheduled payment is due, whether a consent or an enrollment has expired, whether a cancellation is past its
cut-off. The instants those decisions are compared against (a consent's ``expires_at``, a payment's
``status_updated_at``) are stamped from here too, so the records of a moved sandbox are consistent among
themselves. What stays on real time is protocol and machinery: tokens, authorisation codes, JWS ``iat``/``jti``
windows, idempotency records, webhook retries, polling back-off, heartbeats, retention and the ``auto_now``
audit columns (they say when the row was really written, which is what staff need when reading logs).

The offset lives in the Django cache (Redis, or the filesystem cache of ``make run``), so the web workers, the
Celery worker and beat all see it. Each process keeps the value it read for ``REFRESH_SECONDS``; then a refresher
thread reads it again in the background (no cache round trip in a request, and a hung Redis holds no request); the
process that moves the clock sees the move at once. In production (``OPUSOF_SANDBOX_CLOCK`` forced off) ``now()``
is ``timezone.now()`` without any lookup and moving is refused.
"""

import datetime as dt
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from opusof.degrade import CACHE_ERRORS

logger = logging.getLogger(__name__)

CACHE_KEY = "opusof:sandbox-clock:offset-seconds"
REFRESH_SECONDS = 0.5
# A move is at most this far in one call: enough for a two-year plan, and a typo cannot push the clock to year 9999.
MAX_ADVANCE = dt.timedelta(days=800)

_DURATION = re.compile(r"^P(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$", re.ASCII)
_SHORT = re.compile(r"^(?P<amount>\d+)(?P<unit>[dwmh])$", re.ASCII)


class ClockRefused(Exception):
    """The clock cannot be moved here (production) or not by that much (backwards, zero, too far)."""


@dataclass
class _Snapshot:
    offset_seconds: int = 0
    read_at: float = -math.inf
    generation: int = 0  # moves made by this process, so a slower cache read never undoes one


_lock = threading.Lock()
_snapshot = _Snapshot()


def movable() -> bool:
    """Whether this deployment has a movable business clock (sandbox only; production forces it off)."""
    return bool(getattr(settings, "OPUSOF_SANDBOX_CLOCK", False))


def offset() -> dt.timedelta:
    """How far the business clock is ahead of real time (zero in production)."""
    if not movable():
        return dt.timedelta(0)
    return dt.timedelta(seconds=_offset_seconds())


def now() -> dt.datetime:
    """The business instant: aware UTC, ``timezone.now()`` plus the sandbox offset."""
    if not movable():
        return timezone.now()
    return timezone.now() + dt.timedelta(seconds=_offset_seconds())


def today() -> dt.date:
    """The business date: Sao Paulo's calendar date of ``now()`` (payments v4 §0.4)."""
    return now().astimezone(ZoneInfo(settings.OPUSOF_BUSINESS_TIME_ZONE)).date()


def advance(delta: dt.timedelta, *, by: str = "") -> dt.timedelta:
    """Moves the business clock forward by ``delta`` for every process; returns the new offset."""
    _refuse_unless_movable()
    if delta <= dt.timedelta(0):
        raise ClockRefused("O relógio só anda para a frente: use reset para voltar ao horário real.")
    if delta > MAX_ADVANCE:
        raise ClockRefused(f"No máximo {MAX_ADVANCE.days} dias por vez.")
    seconds = int(delta.total_seconds())
    cache.add(CACHE_KEY, 0, timeout=None)
    try:
        total = int(cache.incr(CACHE_KEY, seconds))  # atomic in Redis: two moves at once both count
    except ValueError:  # evicted between add and incr
        cache.set(CACHE_KEY, seconds, timeout=None)
        total = seconds
    _remember(total, moved=True)
    logger.warning(
        "sandbox business clock moved forward", extra={"advancedSeconds": seconds, "offsetSeconds": total, "by": by}
    )
    return dt.timedelta(seconds=total)


def reset(*, by: str = "") -> None:
    """Back to real time for every process."""
    _refuse_unless_movable()
    cache.delete(CACHE_KEY)
    _remember(0, moved=True)
    logger.warning("sandbox business clock reset to real time", extra={"by": by})


def forget_local() -> None:
    """Drops this process's remembered offset, so the next read asks the cache (tests clear the cache between
    tests)."""
    with _lock:
        _snapshot.read_at = -math.inf


def parse_advance(text: str) -> dt.timedelta:
    """``P1M``, ``P2W``, ``P30D``, ``P1M15D`` (ISO 8601, a month being the calendar month from today), ``30d``,
    ``2w``, ``1m``, ``12h`` or a bare number of days."""
    value = text.strip()
    if value.isdigit():
        return dt.timedelta(days=int(value))
    short = _SHORT.match(value.lower())
    if short:
        amount, unit = int(short["amount"]), short["unit"]
        if unit == "m":
            return _months_ahead(amount)
        return dt.timedelta(**{{"d": "days", "w": "weeks", "h": "hours"}[unit]: amount})
    iso = _DURATION.match(value.upper())
    if iso and value.upper() != "P":
        months, weeks, days = (int(iso[name] or 0) for name in ("months", "weeks", "days"))
        return _months_ahead(months) + dt.timedelta(weeks=weeks, days=days)
    raise ClockRefused(f"Duração inválida: {text!r} (exemplos: P1M, P30D, 30d, 1m).")


def _months_ahead(months: int) -> dt.timedelta:
    """From the business date to the same day ``months`` later (the last day of a shorter month)."""
    if not months:
        return dt.timedelta(0)
    start = today()
    year, month = divmod(start.month - 1 + months, 12)
    target_month = dt.date(start.year + year, month + 1, 1)
    next_month = (target_month + dt.timedelta(days=32)).replace(day=1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return dt.timedelta(days=(target_month.replace(day=min(start.day, last_day)) - start).days)


def _refuse_unless_movable() -> None:
    if not movable():
        raise ClockRefused("O relógio de negócio só se move em sandbox (OPUSOF_SANDBOX_CLOCK desligado).")


def _remember(offset_seconds: int, *, moved: bool = False) -> None:
    with _lock:
        _snapshot.offset_seconds = offset_seconds
        _snapshot.read_at = time.monotonic()
        if moved:
            _snapshot.generation += 1


def _offset_seconds() -> int:
    """The remembered offset. Only a process's first read waits for the cache; after that a stale value wakes the
    refresher thread and is answered as it is, so a hung Redis never holds a request (tests/background)."""
    if time.monotonic() - _snapshot.read_at < REFRESH_SECONDS:
        return _snapshot.offset_seconds
    if _snapshot.read_at == -math.inf:
        _refresh()
    else:
        _wake_refresher()
    return _snapshot.offset_seconds


def _refresh() -> None:
    generation = _snapshot.generation
    try:
        stored = cache.get(CACHE_KEY)
    except CACHE_ERRORS as exc:
        # Keep the last value; ask again only after the broker's back-off.
        logger.warning("cache unavailable, business clock keeps offset %s s: %s", _snapshot.offset_seconds, exc)
        with _lock:
            _snapshot.read_at = time.monotonic() + float(settings.OPUSOF_BROKER_RETRY_AFTER_SECONDS) - REFRESH_SECONDS
        return
    with _lock:
        if generation != _snapshot.generation:
            return  # this process moved the clock meanwhile: its own value is newer than what was read
        _snapshot.offset_seconds = int(stored or 0)
        _snapshot.read_at = time.monotonic()


_wake = threading.Event()
_refresher_pid = 0


def _wake_refresher() -> None:
    """One daemon thread per process (started again in a forked worker) reads the cache when woken."""
    global _refresher_pid
    if _refresher_pid != os.getpid():
        with _lock:
            if _refresher_pid != os.getpid():
                _refresher_pid = os.getpid()
                threading.Thread(target=_refresher, name="business-clock", daemon=True).start()
    _wake.set()


def _refresher() -> None:
    while True:
        _wake.wait()
        _wake.clear()
        _refresh()


def run_sweeps() -> dict[str, str]:
    """Runs the beat tasks of ``OPUSOF_SANDBOX_CLOCK_SWEEPS`` once, here and now, so the moved-to day's due
    payments, expiries and read-backs happen without waiting for beat (whose next tick would run them too). Each
    task runs as Celery's ``apply`` (in this process; work it enqueues goes to the worker). Returns each task's
    outcome as text; a failing task is logged and does not stop the others."""
    from opusof.celery import app  # the Celery app imports Django settings: loaded on demand, not with the clock

    app.loader.import_default_modules()
    outcomes: dict[str, str] = {}
    for name in settings.OPUSOF_SANDBOX_CLOCK_SWEEPS:
        task = app.tasks.get(name)
        if task is None:
            continue
        args = (today().isoformat(),) if name == "payments.execute_due_payments" else ()
        result = task.apply(args=args)
        if result.failed():
            logger.error("sandbox clock sweep failed", extra={"task": name, "error": repr(result.result)})
            outcomes[name] = f"erro: {result.result!r}"
        else:
            outcomes[name] = str(result.result)
    return outcomes
