"""Celery doors onto the gateway's services; each is idempotent (it reads what is due and acts on it)."""

from celery import shared_task

from initiator.services.charges import charges_send_due
from initiator.services.notifications import notifications_deliver, trace_purge
from initiator.services.participants import participants_refresh
from initiator.services.sync import poll_open, webhook_received


@shared_task(name="initiator.refresh_participants", ignore_result=True)
def refresh_participants() -> int:
    return participants_refresh()


@shared_task(name="initiator.poll_open", ignore_result=True)
def poll_open_records() -> int:
    return poll_open()


@shared_task(name="initiator.notify_pending", ignore_result=True)
def deliver_notification() -> int:
    return notifications_deliver()


@shared_task(name="initiator.purge", ignore_result=True)
def purge() -> int:
    return trace_purge()


@shared_task(name="initiator.holder_webhook", ignore_result=True, max_retries=0)
def holder_webhook(kind: str, resource_id: str) -> int:
    return webhook_received(kind=kind, resource_id=resource_id)


@shared_task(name="initiator.send_charges", ignore_result=True)
def send_charges() -> int:
    return charges_send_due()
