"""Delivery of the notification outbox to the applications' webhook URLs: at least once, leased rows (SKIP
LOCKED), the project's webhook retry policy (opusof.outbox: attempts, backoff base and ceiling, timeout)."""

import datetime as dt
import time
import uuid

import httpx
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from initiator.models import ApplicationNotification, HolderCall, NotificationState
from opusof.outbox.services import lease_seconds, max_attempts
from opusof.retention import delete_older_than

EVENT_ID_HEADER = "x-webhook-event-id"


def _retry_delay(attempt: int) -> float:
    return float(
        get_exponential_backoff_interval(
            factor=settings.OPUSOF_WEBHOOK_RETRY_BASE_SECONDS,
            retries=attempt - 1,
            maximum=settings.OPUSOF_WEBHOOK_RETRY_MAX_SECONDS,
            full_jitter=False,
        )
    )


def _claim(limit: int) -> list[ApplicationNotification]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            ApplicationNotification.objects.select_for_update(skip_locked=True)
            .select_related("application")
            .filter(state=NotificationState.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")[:limit]
        )
        ApplicationNotification.objects.filter(pk__in=[r.pk for r in rows]).update(
            claimed_until=now + dt.timedelta(seconds=lease_seconds())
        )
    return rows


def trace_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes holder-call traces and finished notifications older than INITIATOR_RETENTION_DAYS."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.INITIATOR_RETENTION_DAYS)
    calls = delete_older_than(HolderCall.objects.all(), field="created_at", cutoff=cutoff)
    finished = ApplicationNotification.objects.exclude(state=NotificationState.PENDING)
    return calls + delete_older_than(finished, field="occurred_at", cutoff=cutoff)


def notifications_deliver(*, limit: int = 100) -> int:
    """One attempt for each due notification; returns how many were delivered."""
    delivered = 0
    timeout = httpx.Timeout(settings.OPUSOF_WEBHOOK_TIMEOUT_SECONDS, connect=3.0)
    for row in _claim(limit):
        attempt = row.attempts + 1
        status_code: int | None = None
        error = ""
        headers = {EVENT_ID_HEADER: str(row.pk), "x-webhook-interaction-id": str(uuid.uuid4())}
        started = time.monotonic()
        try:
            response = httpx.post(row.application.webhook_url, json=row.body(), headers=headers, timeout=timeout)
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:1024]
        ok = status_code is not None and 200 <= status_code < 300
        retryable = status_code is None or status_code >= 500 or status_code in (408, 429)
        fields: dict[str, object] = {
            "attempts": attempt,
            "claimed_until": None,
            "last_status_code": status_code,
            "last_error": error
            or ("" if ok else f"HTTP {status_code} em {int((time.monotonic() - started) * 1000)} ms"),
        }
        if ok:
            fields.update(state=NotificationState.DELIVERED, delivered_at=timezone.now())
            delivered += 1
        elif retryable and attempt < max_attempts():
            fields.update(next_attempt_at=timezone.now() + dt.timedelta(seconds=_retry_delay(attempt)))
        else:
            fields.update(state=NotificationState.FAILED)
        ApplicationNotification.objects.filter(pk=row.pk).update(**fields)
    return delivered
