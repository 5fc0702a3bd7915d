"""Celery doors onto the merchant services; each is idempotent (it reads what is due and acts on it)."""

from celery import shared_task

from merchant.services.plans import plans_sync_open
from merchant.services.refunds import refund_send, refunds_resolve_open
from merchant.services.substitution import replacements_sync
from merchant.services.webhooks import webhooks_deliver


@shared_task(name="merchant.sync_plans", ignore_result=True)
def sync_plans() -> int:
    return plans_sync_open() + replacements_sync()


@shared_task(name="merchant.deliver_webhooks", ignore_result=True)
def deliver_webhooks() -> int:
    return webhooks_deliver()


@shared_task(name="merchant.send_refund", ignore_result=True)
def send_refund(refund_pk: str) -> str:
    return str(refund_send(refund_pk).status)


@shared_task(name="merchant.resolve_refunds", ignore_result=True)
def resolve_refunds() -> int:
    return refunds_resolve_open()
