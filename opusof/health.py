"""Liveness of the parts opusof needs: database, cache, broker, and a worker fed by beat.

``GET /health`` answers 200 when every part is ok and 503 otherwise, with one entry per part, so a load balancer
can act on the status and an operator can read which part is down.

A 503 is the expected answer while the platform starts, so it is not an error of the request: Django's own
"Service Unavailable" ERROR line is suppressed, and one WARNING is logged when the set of parts down changes
(per process), not one line per probe.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from opusof.tasks import WORKER_HEARTBEAT_KEY

_PROBE_KEY = "opusof:health-probe"
logger = logging.getLogger(__name__)
_last_down: frozenset[str] = frozenset()
_last_down_lock = threading.Lock()


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok", "vendor": connection.vendor}


def _check_cache() -> dict[str, Any]:
    token = time.time()
    cache.set(_PROBE_KEY, token, timeout=10)
    if cache.get(_PROBE_KEY) != token:
        raise RuntimeError("the cache did not return the value just written")
    return {"status": "ok", "backend": str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]}


def _check_broker() -> dict[str, Any]:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    with Connection(settings.CELERY_BROKER_URL, transport_options=options) as conn:
        # No retry: a probe must answer within the load balancer's timeout, not wait for the broker to return.
        conn.ensure_connection(max_retries=0, timeout=2)
        transport = conn.transport.driver_type
    if transport == "filesystem":
        # Connecting to the filesystem transport always succeeds; what can break is its folder.
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            folder = Path(str(options[key]))
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise RuntimeError(f"broker folder {folder} is missing or not writable")
    return {"status": "ok", "transport": transport}


def _check_worker() -> dict[str, Any]:
    beat = cache.get(WORKER_HEARTBEAT_KEY)
    if beat is None:
        return {"status": "down", "detail": "no heartbeat from a worker with beat yet"}
    age = time.time() - float(beat)
    ok = age <= settings.OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS
    result: dict[str, Any] = {"status": "ok" if ok else "down", "lastHeartbeatSecondsAgo": round(age, 1)}
    if not ok:
        result["detail"] = f"last heartbeat older than {settings.OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS} s"
    return result


_CHECKS: tuple[tuple[str, Callable[[], dict[str, Any]]], ...] = (
    ("database", _check_database),
    ("cache", _check_cache),
    ("broker", _check_broker),
    ("worker", _check_worker),
)


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in _CHECKS:
        if name == "worker" and checks["cache"]["status"] != "ok":
            # The heartbeat lives in the cache: with the cache down the worker's state is unknown, not a second error.
            checks[name] = {"status": "down", "detail": "unknown: the cache holding the heartbeat is down"}
            continue
        try:
            checks[name] = check()
        except Exception as exc:  # a health probe reports every failure instead of raising
            checks[name] = {"status": "down", "detail": f"{type(exc).__name__}: {exc}"}
    healthy = all(part["status"] == "ok" for part in checks.values())
    _log_change(frozenset(name for name, part in checks.items() if part["status"] != "ok"), checks)
    response = JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)
    # django.utils.log.log_response skips a response marked as logged: a 503 here is a state, not a failure.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _log_change(down: frozenset[str], checks: dict[str, dict[str, Any]]) -> None:
    global _last_down
    with _last_down_lock:
        if down == _last_down:
            return
        _last_down = down
    if down:
        details = {name: checks[name].get("detail", "") for name in sorted(down)}
        logger.warning("health: down: %s", ", ".join(sorted(down)), extra={"checks": details})
    else:
        logger.info("health: every part ok")
