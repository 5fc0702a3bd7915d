"""Liveness of the parts opusof needs: database, cache/broker, and a worker with beat."""

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection

from opusof.tasks import WORKER_HEARTBEAT_KEY


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


def _check_broker() -> dict[str, Any]:
    with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = conn.transport_cls
    cache.set("opusof:health-probe", 1, timeout=5)
    if cache.get("opusof:health-probe") != 1:
        raise RuntimeError("cache did not return the value just written")
    return {"status": "ok", "transport": str(transport)}


def _check_worker() -> dict[str, Any]:
    beat = cache.get(WORKER_HEARTBEAT_KEY)
    if beat is None:
        return {"status": "down", "detail": "no heartbeat from a worker with beat yet"}
    age = time.time() - float(beat)
    ok = age <= settings.OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS
    return {"status": "ok" if ok else "down", "lastHeartbeatSecondsAgo": round(age, 1)}


def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in (("database", _check_database), ("broker", _check_broker), ("worker", _check_worker)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - a health probe reports every failure instead of raising
            checks[name] = {"status": "down", "detail": f"{type(exc).__name__}: {exc}"}
    healthy = all(part["status"] == "ok" for part in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503)
