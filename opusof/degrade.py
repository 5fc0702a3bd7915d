"""Degrade, don't die: how a request behaves while Redis (Celery's broker and Django's cache) is down.

Nothing a request must remember lives only in Redis: the database holds every payment, outbox event and ``jti``
(opusof.replay), and beat's database-polled sweeps find again whatever work an enqueue would have started. So:

- ``enqueue_after_commit`` publishes a task once the transaction commits; when the broker cannot take it the
  request still answers what it committed, one WARNING line names the task and the beat entry that will find the
  work, and publishing is skipped for ``OPUSOF_BROKER_RETRY_AFTER_SECONDS`` so later requests do not each wait on a
  dead broker. Every after-commit enqueue goes through here (tests/opusof/test_degrade.py checks the code for it).
- ``cache_get`` / ``cache_set`` treat an unreachable cache as a miss / a no-op: the caller recomputes.
"""

import functools
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from celery import Task
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerOperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What an unreachable Redis raises: kombu wraps broker connection errors; redis-py raises its own (cache, and the
# transport before kombu wraps them); the socket layer raises OSError (ConnectionRefusedError, TimeoutError).
BROKER_ERRORS: tuple[type[BaseException], ...] = (BrokerOperationalError, RedisError, OSError)
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class _BrokerBreaker:
    """Per process: after a failed publish, publishing is skipped until the retry time comes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retry_at = 0.0

    def is_open(self) -> bool:
        with self._lock:
            return time.monotonic() < self._retry_at

    def trip(self) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + float(settings.OPUSOF_BROKER_RETRY_AFTER_SECONDS)

    def reset(self) -> None:
        with self._lock:
            self._retry_at = 0.0


broker_breaker = _BrokerBreaker()


def publish_each(task: Task[Any, Any], calls: Sequence[tuple[Any, ...]], *, recovered_by: str, **options: Any) -> int:
    """Publishes ``task`` once per argument tuple of ``calls`` now; returns how many were published. A broker
    that cannot take them costs one WARNING line for the lot and no exception."""
    if not calls:
        return 0
    if broker_breaker.is_open():
        _log_not_enqueued(task, calls, recovered_by, "broker marked down by a recent failure")
        return 0
    published = 0
    try:
        for args in calls:
            # One attempt, no Celery-level retry: redis-py already reconnects a pooled connection that went stale
            # across a Redis restart, and a dead or hung broker would only hold the request longer (each attempt
            # waits up to the transport's socket_timeout) for work the sweep does anyway.
            task.apply_async(args, retry=False, **options)
            published += 1
    except BROKER_ERRORS as exc:
        broker_breaker.trip()
        _log_not_enqueued(task, calls[published:], recovered_by, f"{type(exc).__name__}: {exc}")
    return published


def enqueue_after_commit(task: Task[Any, Any], *args: Any, recovered_by: str, **options: Any) -> None:
    """``task.apply_async(args, **options)`` once the current transaction commits (at once outside one).

    ``recovered_by`` is the CELERY_BEAT_SCHEDULE entry whose database sweep does this work if the message is never
    published or is lost with the broker; naming one is what makes a broker outage safe to swallow.
    """
    enqueue_each_after_commit(task, [args], recovered_by=recovered_by, **options)


def enqueue_each_after_commit(
    task: Task[Any, Any], calls: Iterable[tuple[Any, ...]], *, recovered_by: str, **options: Any
) -> None:
    """``enqueue_after_commit`` for several messages of one task (one WARNING line if the broker is down)."""
    if recovered_by not in settings.CELERY_BEAT_SCHEDULE:
        raise ImproperlyConfigured(f"{recovered_by!r} is not a CELERY_BEAT_SCHEDULE entry")
    transaction.on_commit(functools.partial(publish_each, task, list(calls), recovered_by=recovered_by, **options))


def _log_not_enqueued(task: Task[Any, Any], calls: Sequence[tuple[Any, ...]], recovered_by: str, why: str) -> None:
    first = ", ".join(map(str, calls[0])) if calls else ""
    more = f" and {len(calls) - 1} more" if len(calls) > 1 else ""
    logger.warning(
        "%s(%s)%s not enqueued (%s); beat's %s will find the work",
        task.name,
        first,
        more,
        why,
        recovered_by,
        extra={"task": task.name, "count": len(calls), "recoveredBy": recovered_by},
    )


def cache_get(key: str, default: Any = None) -> Any:
    """``cache.get``, with an unreachable cache read as a miss."""
    try:
        return cache.get(key, default)
    except CACHE_ERRORS as exc:
        logger.warning("cache unavailable, read of %s treated as a miss: %s", key, exc)
        return default


def cache_set(key: str, value: Any, *, timeout: float) -> bool:
    """``cache.set``; False when the cache is unreachable (the value is simply not shared)."""
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_ERRORS as exc:
        logger.warning("cache unavailable, %s not stored: %s", key, exc)
        return False
    return True
