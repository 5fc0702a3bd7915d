from celery import shared_task

from payments.services import payment_batch_submit, payment_poll_status


@shared_task(name="payments.submit_payment_batch", acks_late=True, max_retries=3)
def submit_payment_batch(batch_id: str) -> None:
    """Idempotent: only RCVD items of the batch are submitted, under row locks."""
    payment_batch_submit(batch_id=batch_id)


@shared_task(name="payments.poll_payment_status", acks_late=True)
def poll_payment_status(payment_id: str) -> None:
    payment_poll_status(payment_id=payment_id)
