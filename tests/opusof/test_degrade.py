"""opusof.degrade: an enqueue after commit that the broker cannot take is one WARNING and no exception; every
after-commit enqueue in the code goes through it and names a beat sweep; an unreachable cache is a miss; an
unreachable broker, cache or database inside a regulated request is a 503 in the regulated shape."""

import ast
import json
import logging
import socket
import time
from pathlib import Path

import pytest
from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError as DatabaseOperationalError
from django.db import connection, transaction
from kombu.exceptions import OperationalError as BrokerOperationalError
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from redis.exceptions import ConnectionError as RedisConnectionError

from opusof.api.errors import ServiceUnavailable, error_body, error_response, to_regulated
from opusof.authserver.pages.common import CUSTOMER_KEY
from opusof.degrade import broker_breaker, cache_get, cache_set, enqueue_after_commit, enqueue_each_after_commit
from tests.support.payment_bodies import consent_data
from tests.support.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dead_broker_task():
    """A task of an app whose broker is a port nothing listens on."""
    dead = Celery("dead-broker", broker=f"redis://127.0.0.1:{closed_port()}/0", set_as_current=False)
    dead.conf.broker_transport_options = {"socket_connect_timeout": 1}

    @dead.task(name="tests.dead_broker_probe")
    def probe(value: str) -> str:
        return value

    broker_breaker.reset()
    yield probe
    broker_breaker.reset()


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_after_commit_is_one_warning_and_the_commit_stands(dead_broker_task, caplog, settings):
    settings.OPUSOF_BROKER_RETRY_AFTER_SECONDS = 30
    with caplog.at_level(logging.WARNING, logger="opusof.degrade"):
        with transaction.atomic():
            enqueue_each_after_commit(
                dead_broker_task, [("a",), ("b",), ("c",)], recovered_by="outbox-dispatch"
            )  # raises nothing at commit
        started = time.monotonic()
        enqueue_after_commit(dead_broker_task, "d", recovered_by="outbox-dispatch")  # breaker open: not even tried
        skipped_in = time.monotonic() - started

    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("tests.dead_broker_probe(a) and 2 more not enqueued (OperationalError")
    assert lines[0].endswith("beat's outbox-dispatch will find the work")
    assert "broker marked down" in lines[1]
    assert all(record.levelno == logging.WARNING for record in caplog.records)
    assert skipped_in < 0.1


def test_an_enqueue_must_name_a_beat_sweep(dead_broker_task):
    with pytest.raises(ImproperlyConfigured, match="not a CELERY_BEAT_SCHEDULE entry"):
        enqueue_after_commit(dead_broker_task, "x", recovered_by="no-such-sweep")


_PUBLISHING = {"delay", "apply_async", "send_task", "delay_on_commit", "apply_async_on_commit"}


def _publishes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _PUBLISHING
    ]


def test_only_the_helper_and_worker_side_tasks_publish():
    """A request publishes only through opusof.degrade (after commit, tolerating a dead broker, naming the sweep).
    Tasks publish too (beat's fan-out, retries): they run in the worker, where a failed publish is redone by the
    next beat run."""
    apps = [p.parent for p in ROOT.glob("*/apps.py")] + [p.parent for p in ROOT.glob("*/*/apps.py")]
    sources = {path for app in apps for path in app.rglob("*.py") if "migrations" not in path.parts}
    assert len(sources) > 50  # the scan sees the code
    allowed = {ROOT / "opusof" / "degrade.py"}
    offenders = [
        line for path in sorted(sources) if path.name != "tasks.py" and path not in allowed for line in _publishes(path)
    ]
    assert offenders == []


def test_an_unreachable_cache_is_a_miss_and_a_skipped_write(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }
    with caplog.at_level(logging.WARNING, logger="opusof.degrade"):
        assert cache_get("opusof:jwks:x", "fallback") == "fallback"
        assert cache_set("opusof:jwks:x", {"keys": []}, timeout=60) is False
    assert len(caplog.records) == 2


@pytest.mark.parametrize(
    "exc",
    [
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        DatabaseOperationalError("connection to server at 127.0.0.1, port 5432 failed"),
        ConnectionRefusedError(111, "Connection refused"),
    ],
)
def test_an_unreachable_dependency_is_a_regulated_503(exc, rf):
    error = to_regulated(exc)

    assert isinstance(error, ServiceUnavailable)
    response = error_response(error.status_code, error_body(error), rf.post("/open-banking/payments/v4/consents"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    # Not a documented status of the operation: its `default` response (ResponseError) is what a 503 must match.
    default = load_spec("payments-4.0.0.yml")["paths"]["/consents"]["post"]["responses"]["default"]
    schema = default["content"]["application/json"]["schema"]
    body = json.loads(response.content)
    assert list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(body)) == []
    assert body["errors"][0]["code"] == "SERVICE_UNAVAILABLE"


def test_an_unexpected_error_is_still_the_opaque_500():
    assert to_regulated(KeyError("x")).status_code == 500


@pytest.mark.django_db
def test_customer_login_with_the_cache_down_is_a_page_not_a_500(client, settings, demo_bank):
    # The lockout counter of password guesses lives in the cache: without it logins wait (fail closed).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1},
        }
    }

    response = client.post("/minhas-autorizacoes/entrar", {"cpf": "12345678909", "password": "demo1234"})

    assert response.status_code == 401
    assert "Login temporariamente indisponível" in response.content.decode()
    assert CUSTOMER_KEY not in client.session


@pytest.mark.django_db(transaction=True)
def test_a_regulated_request_with_the_database_down_is_a_503_in_the_regulated_shape(tpp, client_credentials_token):
    # Given the database stops answering (its connection now points at a port nothing listens on)
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    settings_dict["PORT"] = str(closed_port())
    connection.close()
    try:
        # When a TPP creates a consent
        response = tpp.post(
            "/open-banking/payments/v4/consents", {"data": consent_data()}, token=client_credentials_token
        )
    finally:
        settings_dict["PORT"] = port
        connection.close()

    # Then it gets the regulated 503 (the spec's `default` response), not a 500
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    default = load_spec("payments-4.0.0.yml")["paths"]["/consents"]["post"]["responses"]["default"]
    body = json.loads(response.content)
    schema = default["content"]["application/json"]["schema"]
    assert list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(body)) == []
    assert body["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
