from celery import shared_task

from enrollments.expiry import enrollments_expire_due


@shared_task(name="enrollments.expire_due_enrollments", ignore_result=True)
def expire_due_enrollments() -> int:
    """Beat: idempotent; locked rows are skipped and an expired enrollment is no longer due."""
    return enrollments_expire_due()
