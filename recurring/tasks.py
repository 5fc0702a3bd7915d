"""Celery doors onto recurring services. Idempotent: state guards under row locks."""

from celery import shared_task

from recurring.expiry import recurring_consents_expire_due
from recurring.services.charges import recurring_payment_poll_with_backoff, recurring_payments_due_for_poll


@shared_task(
    name="recurring.poll_recurring_payment_status", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def poll_recurring_payment_status(recurring_payment_id: str) -> str | None:
    return recurring_payment_poll_with_backoff(recurring_payment_id=recurring_payment_id)


@shared_task(name="recurring.poll_open_recurring_payments", ignore_result=True)
def poll_open_recurring_payments() -> int:
    """Beat: scheduled charges (SCHD) on their date and payments the bank left open are polled until final, each
    with its backoff (a bank that cannot answer is asked less and less often, then flagged for staff)."""
    due = recurring_payments_due_for_poll()
    for payment_id in due:
        poll_recurring_payment_status.apply_async((payment_id,), expires=60)
    return len(due)


@shared_task(name="recurring.expire_due_recurring_consents", ignore_result=True)
def expire_due_recurring_consents() -> int:
    """Beat: consents not authorised within their window (approvalDueDate included) become REJECTED
    TEMPO_EXPIRADO_AUTORIZACAO; authorised ones past their expirationDateTime become CONSUMED."""
    return recurring_consents_expire_due()
