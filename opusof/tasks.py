from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.signals import worker_ready
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from opusof.context import interaction_id_var
from opusof.services import idempotency_records_purge

WORKER_HEARTBEAT_KEY = "opusof:worker-heartbeat"


@shared_task(name="opusof.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends this every few seconds; the health endpoint reads its age to tell whether workers run."""
    cache.set(WORKER_HEARTBEAT_KEY, timezone.now().timestamp(), timeout=3600)


@worker_ready.connect
def _heartbeat_at_start(**kwargs: Any) -> None:
    """A worker that is ready to consume says so at once: /health turns 200 as soon as web, database, broker and
    worker are up, instead of waiting for beat's first scheduled heartbeat (its interval, 15 s)."""
    worker_heartbeat()


# base=DjangoTask is what the Django fixup installs anyway; spelled out so the type checker knows delay_on_commit.
@shared_task(name="opusof.tasks.probe", ignore_result=True, base=DjangoTask)
def probe(key: str) -> None:
    """Writes what the worker sees (interaction id, database, user count) under ``key`` in the cache, for 10 min.

    Harmless by design: it only reads. The ops tests use it to prove ``delay_on_commit`` publishes after the
    commit; an operator can use it to check a deployment (``celery -A opusof call opusof.tasks.probe -a '["k"]'``).
    """
    seen: dict[str, Any] = {
        "interactionId": interaction_id_var.get(),
        "database": str(connection.settings_dict["NAME"]),
        "users": get_user_model().objects.count(),
        "ranAt": timezone.now().timestamp(),
    }
    cache.set(key, seen, timeout=600)


@shared_task(name="opusof.tasks.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    """Beat: idempotency keys are kept 24 h (OPUSOF_IDEMPOTENCY_TTL_SECONDS), then deleted."""
    return idempotency_records_purge()


@shared_task(name="opusof.tasks.purge_used_jtis", ignore_result=True)
def purge_used_jtis() -> int:
    """Beat: used jti values are refused for OPUSOF_JTI_TTL_SECONDS (client assertions: their lifetime), then
    deleted."""
    from opusof.replay import used_jtis_purge

    return used_jtis_purge()
