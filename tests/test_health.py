"""GET /health: one entry per part, 200 only when all are ok, 503 as soon as one is down."""

import logging
import socket
import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from opusof import health
from opusof.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_leaks() -> Iterator[None]:
    yield
    cache.delete(WORKER_HEARTBEAT_KEY)


def closed_port() -> int:
    """A local port nothing listens on: bound by us, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_all_parts_ok_with_a_fresh_heartbeat(client: Client) -> None:
    worker_heartbeat()  # what beat's schedule makes a worker run

    response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: part["status"] for name, part in body["checks"].items()} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "worker": "ok",
    }
    assert body["checks"]["database"]["vendor"] == "postgresql"
    assert body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["worker"]["lastHeartbeatSecondsAgo"] < 5
    assert "no-cache" in response["Cache-Control"]


def test_503_without_any_heartbeat(client: Client) -> None:
    cache.delete(WORKER_HEARTBEAT_KEY)

    response = client.get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["worker"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"


def test_503_with_a_stale_heartbeat(client: Client, settings) -> None:
    settings.OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS = 60
    cache.set(WORKER_HEARTBEAT_KEY, time.time() - 61, timeout=60)

    response = client.get("/health")

    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["status"] == "down"
    assert worker["lastHeartbeatSecondsAgo"] >= 61


def test_503_when_the_broker_is_unreachable(client: Client, settings) -> None:
    worker_heartbeat()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"

    started = time.monotonic()
    response = client.get("/health")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "down"
    assert "detail" in checks["broker"]
    assert checks["database"]["status"] == "ok"
    assert checks["worker"]["status"] == "ok"
    # A probe answers within a load balancer's timeout instead of retrying the broker.
    assert time.monotonic() - started < 5


def test_503_when_the_cache_is_unreachable(client: Client, settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }

    response = client.get("/health")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["status"] == "down"
    assert checks["worker"]["status"] == "down"  # the heartbeat is read from the cache
    assert checks["database"]["status"] == "ok"


def test_redis_down_is_a_503_and_one_warning_not_an_error_per_probe(
    client: Client, settings, caplog, monkeypatch
) -> None:
    # Given cache and broker both on a Redis that is not there, after probes that found everything up
    monkeypatch.setattr(health, "_last_down", frozenset())
    down = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": down,
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    settings.CELERY_BROKER_URL = down

    # When a load balancer probes three times
    with caplog.at_level(logging.INFO):
        responses = [client.get("/health") for _ in range(3)]

    # Then each probe answers 503 naming what is down, and the log holds one warning, no error
    assert [response.status_code for response in responses] == [503] * 3
    checks = responses[-1].json()["checks"]
    assert {name: part["status"] for name, part in checks.items()} == {
        "database": "ok",
        "cache": "down",
        "broker": "down",
        "worker": "down",
    }
    assert checks["worker"]["detail"].startswith("unknown")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name == "opusof.health"]
    assert warnings == ["health: down: broker, cache, worker"]


def test_filesystem_broker_reports_a_missing_folder(client: Client, settings, tmp_path) -> None:
    worker_heartbeat()
    queue = tmp_path / "queue"
    queue.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(tmp_path / "control-never-created"),
    }

    response = client.get("/health")

    assert response.status_code == 503
    broker = response.json()["checks"]["broker"]
    assert broker["status"] == "down"
    assert "control-never-created" in broker["detail"]


def test_only_safe_methods(client: Client) -> None:
    assert client.post("/health").status_code == 405


def test_a_503_is_not_an_error_line_per_probe(client: Client, caplog) -> None:
    cache.delete(WORKER_HEARTBEAT_KEY)
    caplog.set_level("INFO")

    for _ in range(3):
        assert client.get("/health").status_code == 503

    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    warnings = [r for r in caplog.records if r.name == "opusof.health" and r.levelname == "WARNING"]
    assert len(warnings) <= 1  # once when the parts down change (this process may have reported it already)
    worker_heartbeat()
    assert client.get("/health").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name == "opusof.health"][-1] == "health: every part ok"


def test_a_worker_reports_itself_at_start_not_after_beats_first_interval(client: Client) -> None:
    from celery.signals import worker_ready

    cache.delete(WORKER_HEARTBEAT_KEY)
    assert client.get("/health").status_code == 503

    worker_ready.send(sender=None)  # what Celery sends once the worker consumes

    assert client.get("/health").status_code == 200
