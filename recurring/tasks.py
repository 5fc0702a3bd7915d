"""Celery doors onto recurring services. Idempotent: state guards under row locks."""

from celery import shared_task

from recurring.services import (
    recurring_consents_expire_due,
    recurring_payment_poll_status,
    recurring_payments_due_for_poll,
)


@shared_task(name="recurring.poll_recurring_payment_status", acks_late=True, ignore_result=True)
def poll_recurring_payment_status(recurring_payment_id: str) -> None:
    recurring_payment_poll_status(recurring_payment_id=recurring_payment_id)


@shared_task(name="recurring.poll_open_recurring_payments", ignore_result=True)
def poll_open_recurring_payments() -> int:
    """Beat: scheduled charges (SCHD) on their date and payments the bank left open are polled until final."""
    due = recurring_payments_due_for_poll()
    for payment_id in due:
        poll_recurring_payment_status.delay(payment_id)
    return len(due)


@shared_task(name="recurring.expire_due_recurring_consents", ignore_result=True)
def expire_due_recurring_consents() -> int:
    """Beat: consents not authorised within their window (approvalDueDate included) become REJECTED
    TEMPO_EXPIRADO_AUTORIZACAO; authorised ones past their expirationDateTime become CONSUMED."""
    return recurring_consents_expire_due()
