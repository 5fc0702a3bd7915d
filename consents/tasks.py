from celery import shared_task

from consents.expiry import consents_expire_due


@shared_task(name="consents.expire_due_consents", ignore_result=True)
def expire_due_consents() -> int:
    """Beat: idempotent, locked rows are skipped and an expired consent is no longer due."""
    return consents_expire_due()
