"""Celery doors onto payment services. Every task is idempotent: state guards under row locks."""

from celery import shared_task

from payments.services import (
    payment_batch_submit,
    payment_batches_stalled,
    payment_poll_status,
    payments_due_for_poll,
)


@shared_task(name="payments.submit_payment_batch", acks_late=True, ignore_result=True)
def submit_payment_batch(batch_id: str) -> None:
    """Only RCVD items of the batch are submitted, under row locks, so a redelivery changes nothing."""
    payment_batch_submit(batch_id=batch_id)


@shared_task(name="payments.poll_payment_status", acks_late=True, ignore_result=True)
def poll_payment_status(payment_id: str) -> None:
    payment_poll_status(payment_id=payment_id)


@shared_task(name="payments.poll_open_payments", ignore_result=True)
def poll_open_payments() -> int:
    """Beat: one status poll per payment the bank has not finished (ACCP/ACPD/PDNG, SCHD on its date)."""
    due = payments_due_for_poll()
    for payment_id in due:
        poll_payment_status.delay(payment_id)
    return len(due)


@shared_task(name="payments.resubmit_stalled_batches", ignore_result=True)
def resubmit_stalled_batches() -> int:
    """Beat: a batch whose own task was lost is submitted again (or rejected after its 60 minutes)."""
    stalled = payment_batches_stalled()
    for batch_id in stalled:
        submit_payment_batch.delay(batch_id)
    return len(stalled)
