"""A real reference bank (connectors.reference) on a free local port, served by a thread of the pytest process, and
opusof's connectors switched to the HTTP connector pointing at it.

The tests using it are ``transaction=True``: the server's threads have their own database connections and must
see the demo data the test committed.
"""

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.http import calllog
from connectors.http.client import HttpBank, reset_breakers
from connectors.models import ConnectorCall
from connectors.reference.server import ReferenceBankServer, start_reference_bank
from connectors.registry import CAPABILITIES, payment_initiator, reset_connectors

HTTP_BANK = "connectors.http.HttpBank"


@pytest.fixture
def reference_bank_options() -> dict[str, Any]:
    """ReferenceBankServer options; a test module overrides it (e.g. ``{"sign_responses": True}``)."""
    return {}


@pytest.fixture
def reference_bank(transactional_db: None, reference_bank_options: dict[str, Any]) -> Iterator[ReferenceBankServer]:
    # The call log commits on its own connection, so a test in a rolled-back transaction that reached the HTTP
    # connector (the bank-down page in tests/authserver) leaves its rows behind; these tests count every row.
    calllog.flush()
    ConnectorCall.objects.all().delete()
    server, thread = start_reference_bank(**reference_bank_options)
    yield server
    server.stop()
    thread.join(timeout=5)
    assert not server.open_sockets, "a handler thread still holds a connection"


@pytest.fixture
def http_connectors(reference_bank: ReferenceBankServer, settings: Any) -> Iterator[ReferenceBankServer]:
    """Every capability through HttpBank → the reference bank; short timeouts and backoff so faults test fast."""
    settings.OPUSOF_CONNECTOR_HTTP_BASE_URL = reference_bank.base_url
    settings.OPUSOF_CONNECTOR_HTTP_CONNECT_TIMEOUT = 1.0
    settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = {
        "validate": 2.0,
        "discovery": 2.0,
        "initiate": 2.0,
        "status": 2.0,
        "cancel": 2.0,
    }
    settings.OPUSOF_CONNECTOR_HTTP_BACKOFF_SECONDS = 0.01
    settings.OPUSOF_CONNECTOR_HTTP_BREAKER_FAIL_MAX = 3
    settings.OPUSOF_CONNECTOR_HTTP_BREAKER_RESET_SECONDS = 1.0
    if reference_bank.sign_responses:
        settings.OPUSOF_CONNECTOR_HTTP_BANK_JWKS = json.dumps(reference_bank.public_jwks)
        settings.OPUSOF_CONNECTOR_HTTP_REQUIRE_SIGNED_RESPONSES = True
    settings.OPUSOF_CONNECTORS = dict.fromkeys(CAPABILITIES, HTTP_BANK)
    reset_connectors()
    reset_breakers()
    yield reference_bank
    bank = payment_initiator()
    if isinstance(bank, HttpBank):
        bank.close()
    calllog.flush()
    reset_connectors()
    reset_breakers()


@pytest.fixture
def faults(reference_bank: ReferenceBankServer) -> Any:
    """``faults(errorNext=2, routes=["initiate"])``: the reference bank's fault switches, driven over HTTP as a person
    or another process would (``faults(method="DELETE")`` clears them, ``faults(method="GET")`` reads them)."""

    def switch(method: str = "POST", **switches: Any) -> dict[str, Any]:
        return _faults(reference_bank, method, **switches)

    return switch


def _faults(server: ReferenceBankServer, method: str = "POST", **switches: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{server.base_url}/_faults",
        data=json.dumps(switches).encode(),
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
        answer: dict[str, Any] = json.loads(response.read())
        return answer
