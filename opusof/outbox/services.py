"""The outbox's writers: record an event with the status change, claim due events, deliver one over HTTP.

Delivery contract (webhook 1.2.0, ``specs/ofb/webhook-1.2.0.yml``): POST ``<registered webhook URI>`` +
``/open-banking/webhook/v1/payments/v4/consents/{consentId}`` or ``.../payments/v4/pix/payments/{paymentId}``,
body ``{"data":{"timestamp":"<UTC time of the change>"}}``, header ``x-webhook-interaction-id`` unique per
attempt (a retry uses a new one), answered 202. The spec's body is a ping without status or signature (the TPP
GETs the resource); the event's stable id travels in ``x-webhook-event-id`` so a TPP can drop duplicates.
"""

import contextlib
import contextvars
import datetime as dt
import functools
import logging
import random
import ssl
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opusof.degrade import enqueue_each_after_commit
from opusof.models import TppClient
from opusof.outbox.models import AttemptOutcome, EventKind, EventState, OutboxEvent, WebhookDelivery
from opusof.retention import delete_older_than, retention_cutoff
from opusof.timeutil import rfc3339

logger = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/open-banking/webhook/v1"
EVENT_ID_HEADER = "x-webhook-event-id"
_PATHS = {
    EventKind.PAYMENT_CONSENT: "/payments/v4/consents/{id}",
    EventKind.PIX_PAYMENT: "/payments/v4/pix/payments/{id}",
    EventKind.RECURRING_CONSENT: "/automatic-payments/v2/recurring-consents/{id}",
    EventKind.RECURRING_PAYMENT: "/automatic-payments/v2/pix/recurring-payments/{id}",
    EventKind.ENROLLMENT: "/enrollments/v2/enrollments/{id}",
}
# Characters of a consent URN (webhook 1.2.0 consentId pattern) that may stay as they are in a path segment.
_SAFE = ":()+,-.=@;$_!*'"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_attempts() -> int:
    return _setting("OPUSOF_WEBHOOK_MAX_ATTEMPTS", 10)


def lease_seconds() -> int:
    # Longer than one HTTP attempt can take (connect + read timeouts), so a live sender never loses its lease.
    return 4 * _setting("OPUSOF_WEBHOOK_TIMEOUT_SECONDS", 10) + 5


def notification_url(webhook_uri: str, kind: str, resource_id: str) -> str:
    return webhook_uri.rstrip("/") + WEBHOOK_PREFIX + _PATHS[EventKind(kind)].format(id=quote(resource_id, safe=_SAFE))


# Within one sweep batch (one transaction) a client's registration is read once, not once per payment: that lookup
# was a tenth of a scheduled payment's cost. Send time checks the registration again (webhook_deliver).
_batch_uris: contextvars.ContextVar[dict[str, list[str]] | None] = contextvars.ContextVar(
    "outbox_batch_uris", default=None
)


@contextlib.contextmanager
def outbox_batch(*, known: Iterable[TppClient] = ()) -> Iterator[None]:
    """Caches the clients' webhook URIs for the events recorded inside the block (one request or transaction).
    ``known``: clients already read as ACTIVE in this block (the request's authenticated client, read with its
    token), whose registration is not read again."""
    token = _batch_uris.set({str(client.pk): _usable(client.webhook_uris) for client in known})
    try:
        yield
    finally:
        _batch_uris.reset(token)


def _usable(webhook_uris: Any) -> list[str]:
    return [uri for uri in webhook_uris or [] if isinstance(uri, str) and uri]


def _registered_uris(client_id: uuid.UUID | str) -> list[str]:
    cache = _batch_uris.get()
    if cache is not None and str(client_id) in cache:
        return cache[str(client_id)]
    row = TppClient.objects.filter(pk=client_id, status=TppClient.Status.ACTIVE).values_list("webhook_uris").first()
    uris = _usable(row[0] if row else None)
    if cache is not None:
        cache[str(client_id)] = uris
    return uris


@dataclass(frozen=True)
class StatusChangeEvent:
    """One status change to notify: what ``outbox_record_status_changes`` turns into outbox events."""

    client_id: uuid.UUID | str
    kind: str
    resource_id: str
    from_status: str
    to_status: str
    occurred_at: dt.datetime


def outbox_record_status_change(
    *,
    client_id: uuid.UUID | str,
    kind: str,
    resource_id: str,
    from_status: str,
    to_status: str,
    occurred_at: dt.datetime,
) -> list[OutboxEvent]:
    """Called by ``record_transition`` inside its transaction: one event per webhook URI the client registered, and
    a nudge after the commit so delivery starts at once (the beat dispatcher is the safety net if it is lost)."""
    return outbox_record_status_changes(
        [StatusChangeEvent(client_id, kind, resource_id, from_status, to_status, occurred_at)]
    )


def outbox_events_for(changes: Iterable[StatusChangeEvent]) -> list[OutboxEvent]:
    """The outbox events of ``changes``, one per webhook URI each client registered, not yet saved: for a writer
    that inserts them in its own statement (opusof.transitions) and then calls ``outbox_nudge``."""
    return [
        OutboxEvent(
            client_id=change.client_id,
            kind=change.kind,
            resource_id=change.resource_id,
            from_status=change.from_status,
            to_status=change.to_status,
            webhook_uri=uri,
            url=notification_url(uri, change.kind, change.resource_id),
            occurred_at=change.occurred_at,
            next_attempt_at=change.occurred_at,
        )
        for change in changes
        for uri in dict.fromkeys(_registered_uris(change.client_id))
    ]


def outbox_nudge(events: list[OutboxEvent]) -> None:
    """Starts the delivery of saved ``events`` once the transaction commits (beat's dispatcher is the safety net)."""
    if not events:
        return
    from opusof.outbox.tasks import deliver_webhook

    enqueue_each_after_commit(deliver_webhook, [(str(event.id),) for event in events], recovered_by="outbox-dispatch")


def outbox_record_status_changes(changes: Iterable[StatusChangeEvent]) -> list[OutboxEvent]:
    """``outbox_record_status_change`` for many changes with one INSERT (a sweep batch's transitions)."""
    events = outbox_events_for(changes)
    if not events:
        return []
    OutboxEvent.objects.bulk_create(events)
    outbox_nudge(events)
    return events


def outbox_claim_due(*, limit: int = 200) -> tuple[str, list[str]]:
    """Leases up to ``limit`` due events (PENDING, attempt time reached, no live lease), skipping rows another
    dispatcher has locked. Returns the lease token and the event ids; the token lets ``webhook_deliver`` use it."""
    now = timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        ids = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(state=EventState.PENDING, next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboxEvent.objects.filter(id__in=ids).update(
                claimed_by=token, claimed_until=now + dt.timedelta(seconds=lease_seconds())
            )
    return str(token), [str(event_id) for event_id in ids]


@dataclass(frozen=True)
class _Claim:
    event: OutboxEvent
    attempt: int
    token: uuid.UUID


def _claim_one(event_id: str, *, token: str | None, replay: bool) -> _Claim | None:
    now = timezone.now()
    with transaction.atomic():
        event = (
            OutboxEvent.objects.select_for_update(skip_locked=True).select_related("client").filter(pk=event_id).first()
        )
        if event is None:
            return None  # another sender holds the row right now, or it does not exist
        leased = event.claimed_until is not None and event.claimed_until > now
        ours = token is not None and event.claimed_by is not None and str(event.claimed_by) == token
        if leased and not ours:
            return None
        if not replay and (event.state != EventState.PENDING or event.next_attempt_at > now):
            return None
        new_token = uuid.uuid4()
        event.claimed_by = new_token
        event.claimed_until = now + dt.timedelta(seconds=lease_seconds())
        event.save(update_fields=["claimed_by", "claimed_until"])
        return _Claim(event=event, attempt=event.attempts + 1, token=new_token)


def _retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter: half the interval fixed, half random, so a TPP that comes back is not hit by
    every retry at the same instant."""
    interval = get_exponential_backoff_interval(
        factor=_setting("OPUSOF_WEBHOOK_RETRY_BASE_SECONDS", 10),
        retries=attempt - 1,
        maximum=_setting("OPUSOF_WEBHOOK_RETRY_MAX_SECONDS", 3600),
        full_jitter=False,
    )
    return interval / 2 + random.uniform(0, interval / 2)


def webhook_body(event: OutboxEvent) -> dict[str, dict[str, str]]:
    """webhook 1.2.0 RequestBodyWebhook: only the time of the change, UTC, no fractions."""
    return {"data": {"timestamp": rfc3339(event.occurred_at)}}


@dataclass(frozen=True)
class DeliveryResult:
    event_id: str
    outcome: str
    status_code: int | None
    retry_in: float | None


def webhook_deliver(*, event_id: str, token: str | None = None, trigger: str = "dispatch") -> DeliveryResult | None:
    """Sends one attempt of a due event, outside any transaction, and records it. ``trigger="replay"`` re-sends
    an event whatever its state (same event id, new interaction id). None when there was nothing to do."""
    replay = trigger != "dispatch"
    claim = _claim_one(event_id, token=token, replay=replay)
    if claim is None:
        return None
    event, attempt = claim.event, claim.attempt
    interaction_id = uuid.uuid4()
    status_code: int | None = None
    error = ""
    started = time.monotonic()
    outcome: AttemptOutcome
    registered = event.client.is_active and event.webhook_uri in (event.client.webhook_uris or [])
    if not registered:
        outcome = AttemptOutcome.FAILED
        error = "URI de webhook não registrada pelo cliente."
    else:
        outcome, status_code, error = _post(event, interaction_id)
    latency_ms = int((time.monotonic() - started) * 1000) if registered else None
    retry_in: float | None = None
    if outcome == AttemptOutcome.RETRY and attempt >= max_attempts():
        outcome = AttemptOutcome.FAILED
        error = f"{error} (tentativas esgotadas: {attempt})"[:1024]
    if outcome == AttemptOutcome.RETRY:
        retry_in = _retry_delay(attempt)
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.create(
            event=event,
            attempt=attempt,
            url=event.url,
            interaction_id=interaction_id,
            trigger=trigger,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error[:1024],
            outcome=outcome,
            created_at=now,
        )
        fields: dict[str, object] = {
            "attempts": attempt,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": error[:1024],
        }
        if outcome == AttemptOutcome.DELIVERED:
            fields.update(state=EventState.DELIVERED, delivered_at=now)
        elif outcome == AttemptOutcome.FAILED:
            fields.update(state=EventState.FAILED)
        else:
            fields.update(state=EventState.PENDING, next_attempt_at=now + dt.timedelta(seconds=retry_in or 0))
        # Only while our lease holds: a sender that outlived its lease must not overwrite its successor's result.
        OutboxEvent.objects.filter(pk=event.pk, claimed_by=claim.token).update(**fields)
    logger.info(
        "webhook attempt",
        extra={"event_id": str(event.pk), "attempt": attempt, "outcome": outcome, "status_code": status_code},
    )
    return DeliveryResult(event_id=str(event.pk), outcome=outcome, status_code=status_code, retry_in=retry_in)


@functools.cache
def _tls_context(cert: str, key: str, ca_bundle: str) -> ssl.SSLContext:
    """Server verification (the CA bundle, or the system's) and, when configured, our client certificate: the OFB
    webhook convention calls the TPP over mutual TLS with the institution's transport certificate."""
    context = ssl.create_default_context(cafile=ca_bundle or None)
    if cert:
        context.load_cert_chain(cert, key or None)
    return context


def _tls() -> ssl.SSLContext:
    return _tls_context(
        str(getattr(settings, "OPUSOF_WEBHOOK_CLIENT_CERT_PATH", "")),
        str(getattr(settings, "OPUSOF_WEBHOOK_CLIENT_KEY_PATH", "")),
        str(getattr(settings, "OPUSOF_WEBHOOK_CA_BUNDLE", "")),
    )


def _post(event: OutboxEvent, interaction_id: uuid.UUID) -> tuple[AttemptOutcome, int | None, str]:
    timeout = httpx.Timeout(_setting("OPUSOF_WEBHOOK_TIMEOUT_SECONDS", 10), connect=3.0)
    headers = {
        "content-type": "application/json",
        "x-webhook-interaction-id": str(interaction_id),
        EVENT_ID_HEADER: str(event.pk),
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls()) as client:
            response = client.post(event.url, json=webhook_body(event), headers=headers)
    except httpx.HTTPError as exc:  # connection refused, DNS, TLS, timeouts: all worth another try
        return AttemptOutcome.RETRY, None, f"{type(exc).__name__}: {exc}"[:1024]
    code = response.status_code
    if 200 <= code < 300:
        return AttemptOutcome.DELIVERED, code, ""
    detail = f"HTTP {code}: {response.text[:200]}"
    # 5xx and 429 (rate limited) are the TPP's temporary trouble; any other answer will not change on a retry.
    if code >= 500 or code in (408, 429):
        return AttemptOutcome.RETRY, code, detail
    return AttemptOutcome.FAILED, code, detail


def outbox_replay(*, event_ids: list[str]) -> list[DeliveryResult]:
    """Operator replay (admin action, ``replay_webhooks``): one new attempt per event, synchronously."""
    results = []
    for event_id in event_ids:
        result = webhook_deliver(event_id=event_id, trigger="replay")
        if result is not None:
            results.append(result)
    return results


def outbox_events_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes delivered and failed events older than OPUSOF_OUTBOX_RETENTION_DAYS with their delivery attempts
    (beat ``outbox-purge``); a PENDING event stays whatever its age: it still owes the TPP a notification."""
    return delete_older_than(
        OutboxEvent.objects.exclude(state=EventState.PENDING),
        field="created_at",
        cutoff=retention_cutoff(days=settings.OPUSOF_OUTBOX_RETENTION_DAYS, now=now),
    )
