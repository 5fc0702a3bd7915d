"""Celery doors onto the outbox. At-least-once by design: a lost message or a dead worker leaves the event
PENDING (or its lease expires) and the beat dispatcher sends it again with the same event id."""

from celery import shared_task
from django.conf import settings

from opusof.outbox.services import lease_seconds, outbox_claim_due, outbox_events_purge, webhook_deliver


@shared_task(
    name="outbox.deliver_webhook",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=0,
)
def deliver_webhook(event_id: str, token: str | None = None) -> str | None:
    """One attempt; a retryable failure schedules the next nudge at the backoff time (the event row keeps the
    schedule too, so the dispatcher retries it even if this message is lost)."""
    result = webhook_deliver(event_id=event_id, token=token)
    if result is None:
        return None
    if result.retry_in is not None:
        deliver_webhook.apply_async((event_id,), countdown=result.retry_in)
    return result.outcome


@shared_task(name="outbox.dispatch_pending", ignore_result=True)
def dispatch_pending() -> int:
    """Beat: leases due events with SKIP LOCKED (two beats or dispatchers never take the same rows) and hands each
    to a delivery task carrying the lease token. Expiring messages keep a stopped worker from piling them up."""
    total = 0
    batch = int(getattr(settings, "OPUSOF_WEBHOOK_DISPATCH_BATCH", 200))
    token, ids = outbox_claim_due(limit=batch)
    for event_id in ids:
        deliver_webhook.apply_async((event_id, token), expires=lease_seconds())
    total += len(ids)
    return total


@shared_task(name="outbox.purge_finished", ignore_result=True)
def purge_finished() -> int:
    """Beat: delivered and failed events past OPUSOF_OUTBOX_RETENTION_DAYS go, with their delivery attempts."""
    return outbox_events_purge()
