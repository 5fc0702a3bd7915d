"""ConnectorCall in the admin (read-only) and the run_reference_bank command as a separate process."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse

from connectors.http import calllog
from connectors.http.client import HttpBank
from connectors.interfaces import ConnectorOutcomeUnknown
from connectors.models import ConnectorCall

ROOT = Path(__file__).resolve().parents[3]


def test_connector_calls_are_listed_read_only(admin_client, db):
    ConnectorCall.objects.create(
        route="initiate",
        url="http://bank/payments",
        outcome="UNAVAILABLE",
        http_status=503,
        latency_ms=12.5,
        correlation_id="5c9d8f5e-1111-4222-8333-444455556666",
    )
    changelist = reverse("admin:connectors_connectorcall_changelist")

    found = admin_client.get(f"{changelist}?q=5c9d8f5e-1111-4222-8333-444455556666")
    missing = admin_client.get(f"{changelist}?q=00000000-0000-0000-0000-000000000000")

    assert found.status_code == 200 and b"5c9d8f5e-1111-4222-8333-444455556666" in found.content
    assert b"5c9d8f5e" not in missing.content
    assert admin_client.get(reverse("admin:connectors_connectorcall_add")).status_code == 403


def test_http_bank_needs_a_base_url(settings):
    settings.OPUSOF_CONNECTOR_HTTP_BASE_URL = ""
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        HttpBank()


def test_bank_that_never_answers_is_outcome_unknown(settings, transactional_db):
    # A socket that accepts and never answers: the read timeout, not a refusal, and not retried.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = dict.fromkeys(("validate", "discovery", "initiate"), 0.3)
        bank = HttpBank(f"http://127.0.0.1:{silent.getsockname()[1]}")
        try:
            started = time.monotonic()
            with pytest.raises(ConnectorOutcomeUnknown):
                bank.discover_accounts(customer_document="12345678909")
            assert time.monotonic() - started < 2  # one attempt of 0.3 s: a read timeout is not retried
        finally:
            bank.close()
    assert calllog.flush()
    assert list(ConnectorCall.objects.values_list("route", "attempt", "error_code")) == [
        ("discovery", 1, "ReadTimeout")
    ]


def test_run_reference_bank_command_serves_fault_switches():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "opusof.settings.test"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_reference_bank", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline().decode()
        assert f"127.0.0.1:{port}" in banner
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_faults", data=json.dumps({"errorNext": 2}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["errorNext"] == 2
    finally:
        server.terminate()
        server.wait(10)
