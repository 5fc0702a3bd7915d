from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

WORKER_HEARTBEAT_KEY = "opusof:worker-heartbeat"


@shared_task(name="opusof.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends this every few seconds; the health endpoint reads its age to tell whether workers run."""
    cache.set(WORKER_HEARTBEAT_KEY, timezone.now().timestamp(), timeout=3600)
