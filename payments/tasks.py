"""Celery doors onto payment services. Every task is idempotent: state guards under row locks.

Scheduled payments (payments v4, ``SCHD``): the Opus connector contract has the bank keep the schedule, so a
scheduled payment was handed to the bank at creation (``initiate_payment`` with ``payment_date``, answered
``SCHD``). On its date the bank executes it; "running the due payments" is therefore asking the bank, through the
status route, for the outcome of every ``SCHD`` payment whose date has come and applying it with
``apply_bank_status`` (``ACSC``, ``RJCT`` ``SALDO_INSUFICIENTE`` when the money was not there at settlement,
``PDNG``/``ACCP``/``ACPD`` when the bank is still working on it, ``CANC``). Due rows are found by a query and
claimed in batches with ``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers (or two beats) share the work and
each payment changes state once: the row lock plus the FSM's source guard make a second pass a no-op.
"""

import datetime as dt
import logging
import math

from celery import Task, shared_task
from django.conf import settings

from opusof.timeutil import business_date
from payments.batches import payment_batch_submit, payment_batches_stalled
from payments.scheduling import (
    DUE_BATCH_SIZE,
    payment_poll_with_backoff,
    payments_due,
    payments_poll_candidates,
    payments_run_due,
)

logger = logging.getLogger(__name__)

# Retries of a sweep that found the bank unavailable: 5 s, 10 s, 20 s, ... capped at 5 min, then beat's next run.
DUE_MAX_RETRIES = 8


@shared_task(name="payments.submit_payment_batch", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def submit_payment_batch(batch_id: str) -> None:
    """Only RCVD items of the batch are submitted, under row locks, so a redelivery changes nothing."""
    payment_batch_submit(batch_id=batch_id)


@shared_task(name="payments.poll_payment_status", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def poll_payment_status(payment_id: str) -> str | None:
    return payment_poll_with_backoff(payment_id=payment_id)


@shared_task(name="payments.poll_open_payments", ignore_result=True)
def poll_open_payments() -> int:
    """Beat: one status poll per payment the bank has not finished (ACCP/ACPD/PDNG) whose backoff has elapsed.
    SCHD payments on their date are the due sweep's (``run_due_payments``)."""
    due = payments_poll_candidates()
    for payment_id in due:
        poll_payment_status.apply_async((payment_id,), expires=60)
    return len(due)


# --- status polling with backoff and a ceiling ------------------------------------------------------------------


@shared_task(name="payments.resubmit_stalled_batches", ignore_result=True)
def resubmit_stalled_batches() -> int:
    """Beat: a batch whose own task was lost is submitted again (or rejected after its 60 minutes)."""
    stalled = payment_batches_stalled()
    for batch_id in stalled:
        submit_payment_batch.delay(batch_id)
    return len(stalled)


# --- scheduled payments whose date has come -------------------------------------------------------------------


@shared_task(
    name="payments.execute_due_payments",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=DUE_MAX_RETRIES,
)
def execute_due_payments(self: Task, day: str | None = None) -> int:
    """One sweeper. Redelivered after a worker dies (acks_late): the rows it had not committed are still SCHD and
    are claimed again; the ones it committed are no longer due. A bank that cannot be reached is retried with
    exponential backoff, then left to beat's next run."""
    sweep = payments_run_due(day=dt.date.fromisoformat(day) if day else None)
    if sweep.unavailable:
        countdown = min(300, 5 * 2**self.request.retries)
        logger.warning("bank unavailable for due payments", extra={"count": sweep.unavailable})
        if self.request.retries < DUE_MAX_RETRIES:
            raise self.retry(countdown=countdown)
    return sweep.executed


@shared_task(name="payments.run_due_payments", ignore_result=True)
def run_due_payments(day: str | None = None) -> int:
    """Beat: starts as many sweepers as the due work needs, up to OPUSOF_DUE_SWEEPERS; they share it through SKIP
    LOCKED, so a second beat (or a manual run) starting more only makes some find nothing to do."""
    target = dt.date.fromisoformat(day) if day else business_date()
    due = payments_due(target).count()
    if not due:
        return 0
    sweepers = min(int(getattr(settings, "OPUSOF_DUE_SWEEPERS", 4)), math.ceil(due / DUE_BATCH_SIZE))
    for _ in range(sweepers):
        execute_due_payments.apply_async((target.isoformat(),), expires=3600)
    return sweepers
