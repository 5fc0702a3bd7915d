"""A reference bank back-end answering the five Opus connector routes from the sandbox bank's data.

Small on purpose: the stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive), JSON in and
out, translation through ``connectors.http.contract`` and the work done by ``connectors.sandbox.SandboxBank`` (so
balances, ledger, scenario amounts and idempotency are the sandbox's own). Run it with
``manage.py run_reference_bank --port N`` or, in tests, ``start_reference_bank()`` in a thread.

Faults are switched at runtime through ``/_faults`` so tests and people can stage a bad day:

- ``POST /_faults`` with any of ``{"latencySeconds": 2.5, "errorNext": 2, "errorStatus": 503,
  "dropNext": 1, "dropAfterProcessingNext": 1, "down": true, "routes": ["initiate"]}`` — latency before
  answering; answer the next N calls with ``errorStatus`` (default 503); drop the connection after reading the
  next N requests (before doing anything); do the work of the next N requests and then drop the connection
  without answering (the lost-response case idempotency keys exist for); drop every request while ``down``.
  ``routes`` limits the faults to those routes (default: all). Values not given keep their current setting.
- ``DELETE /_faults`` clears every fault; ``GET /_faults`` shows them and the calls received per route.
"""

import contextlib
import json
import logging
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone

from connectors.http import contract
from connectors.interfaces import AccountRef, AccountType, ConnectorRejected, ConnectorUnavailable, PaymentStatusResult
from connectors.models import SandboxPayment
from connectors.sandbox import SandboxBank

logger = logging.getLogger("connectors.reference")
_ROUTE_BY_PATH = {path: route for route, path in contract.ROUTES.items()}


@dataclass
class Faults:
    """The fault switches, shared by every handler thread (guarded by ``lock``)."""

    latency_seconds: float = 0.0
    error_next: int = 0
    error_status: int = 503
    drop_next: int = 0
    drop_after_processing_next: int = 0
    down: bool = False
    routes: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, body: dict[str, Any]) -> None:
        with self.lock:
            if "latencySeconds" in body:
                self.latency_seconds = float(body["latencySeconds"])
            if "errorNext" in body:
                self.error_next = int(body["errorNext"])
            if "errorStatus" in body:
                self.error_status = int(body["errorStatus"])
            if "dropNext" in body:
                self.drop_next = int(body["dropNext"])
            if "dropAfterProcessingNext" in body:
                self.drop_after_processing_next = int(body["dropAfterProcessingNext"])
            if "down" in body:
                self.down = bool(body["down"])
            if "routes" in body:
                self.routes = {str(route) for route in body["routes"] or []}

    def clear(self) -> None:
        with self.lock:
            self.latency_seconds = 0.0
            self.error_next = self.drop_next = self.drop_after_processing_next = 0
            self.error_status = 503
            self.down = False
            self.routes = set()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "latencySeconds": self.latency_seconds,
                "errorNext": self.error_next,
                "errorStatus": self.error_status,
                "dropNext": self.drop_next,
                "dropAfterProcessingNext": self.drop_after_processing_next,
                "down": self.down,
                "routes": sorted(self.routes),
                "calls": dict(self.calls),
            }

    def decide(self, route: str) -> tuple[float, str | None, int]:
        """Counts the call and takes one fault off the switches: (latency, action, error status)."""
        with self.lock:
            self.calls[route] += 1
            if self.routes and route not in self.routes:
                return 0.0, None, 0
            action = None
            if self.down:
                action = "drop"
            elif self.drop_next > 0:
                self.drop_next -= 1
                action = "drop"
            elif self.error_next > 0:
                self.error_next -= 1
                action = "error"
            elif self.drop_after_processing_next > 0:
                self.drop_after_processing_next -= 1
                action = "drop_after"
            return self.latency_seconds, action, self.error_status


class ReferenceBankServer(ThreadingHTTPServer):
    daemon_threads = True
    # Fault tests open and drop many connections quickly.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], bank: SandboxBank | None = None) -> None:
        super().__init__(address, _Handler)
        self.bank = bank or SandboxBank()
        self.faults = Faults()
        # Open client connections: stop() ends them so no handler thread (and its database connection) outlives us.
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops serving, ends every open keep-alive connection and waits for their threads to let go of the
        database (a test database cannot be dropped while a session uses it)."""
        self.shutdown()
        self.server_close()
        with self.sockets_lock:
            for sock in self.open_sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sockets_lock:
                if not self.open_sockets:
                    return
            time.sleep(0.01)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: ReferenceBankServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the connector's pooled client expects
    timeout = 30  # an idle keep-alive connection frees its thread (and database connection) after this
    # Headers and body leave in separate writes; without TCP_NODELAY the body waits for the client's delayed ACK
    # (~40 ms per call on Linux loopback).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def setup(self) -> None:
        super().setup()
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            # One thread per connection: its database connection goes with it.
            connections.close_all()
            with self.server.sockets_lock:
                self.server.open_sockets.discard(self.connection)

    # --- HTTP -------------------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if self.path == "/_faults":
            self._send(200, self.server.faults.snapshot())
        else:
            self._send(404, contract.error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))

    def do_DELETE(self) -> None:
        if self.path == "/_faults":
            self._read()
            self.server.faults.clear()
            self._send(200, self.server.faults.snapshot())
        else:
            self._send(404, contract.error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))

    def do_POST(self) -> None:
        body = self._read()
        if self.path == "/_faults":
            self.server.faults.update(body if isinstance(body, dict) else {})
            self._send(200, self.server.faults.snapshot())
            return
        route = _ROUTE_BY_PATH.get(self.path)
        if route is None:
            self._send(404, contract.error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))
            return
        latency, action, error_status = self.server.faults.decide(route)
        if latency:
            time.sleep(latency)
        if action == "drop":
            self.close_connection = True
            return
        if action == "error":
            self._send(error_status, contract.error_body([("FALHA_INFRAESTRUTURA", "Falha injetada.")]))
            return
        close_old_connections()
        status, answer = self._dispatch(route, body)
        if action == "drop_after":
            self.close_connection = True
            return
        self._send(status, answer)

    def _read(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def _send(self, status: int, body: Any) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(payload)))
        correlation = self.headers.get("x-fapi-interaction-id")
        if correlation:
            self.send_header("x-fapi-interaction-id", correlation)
        self.end_headers()
        self.wfile.write(payload)

    # --- routes -------------------------------------------------------------------------------------------------

    def _dispatch(self, route: str, body: Any) -> tuple[int, Any]:
        bank = self.server.bank
        try:
            if route == "validate":
                return contract.validation_response(
                    bank.validate_payment_data(contract.payment_data_from_validation_request(body))
                )
            if route == "discovery":
                customer, business = contract.discovery_params_from_request(body)
                accounts = bank.discover_accounts(customer_document=customer, business_document=business)
                return 200, contract.discovery_response(accounts)
            if route == "initiate":
                initiation = contract.initiation_from_request(body)
                result = bank.initiate_payment(initiation)
                return 201, self._payment(result, idempotency_key=initiation.idempotency_key)
            payment_id, end_to_end_id = contract.payment_ids_from_request(body)
            if route == "status":
                result = bank.get_payment_status(payment_id=payment_id, end_to_end_id=end_to_end_id)
            else:
                result = bank.cancel_payment(payment_id=payment_id, end_to_end_id=end_to_end_id)
            return 200, self._payment(result, payment_id=payment_id)
        except contract.ContractError as exc:
            return 400, contract.error_body([("PARAMETRO_INVALIDO", str(exc))])
        except ConnectorRejected as exc:
            return 422, contract.error_body([(exc.code, exc.detail)])
        except ConnectorUnavailable as exc:
            return 503, contract.error_body([("FALHA_INFRAESTRUTURA", str(exc))])

    @staticmethod
    def _payment(result: PaymentStatusResult, **lookup: str) -> dict[str, Any]:
        row = SandboxPayment.objects.select_related("debtor_account").get(**lookup)
        view = contract.PaymentView(
            payment_id=row.payment_id,
            end_to_end_id=row.end_to_end_id,
            amount=row.amount,
            currency="BRL",
            local_instrument=row.local_instrument,
            creditor_account=AccountRef(
                ispb=row.creditor_ispb,
                issuer=row.creditor_issuer or None,
                number=row.creditor_number,
                account_type=AccountType(row.creditor_account_type),
            ),
            debtor_account=row.debtor_account.ref,
            created_at=row.created_at,
            proxy=row.proxy or None,
            payment_date=row.scheduled_date,
            bank_id=str(row.pk),
        )
        return contract.payment_response(view, result, now=timezone.now())


def start_reference_bank(host: str = "127.0.0.1", port: int = 0) -> tuple[ReferenceBankServer, threading.Thread]:
    """Starts the reference bank in a daemon thread (port 0: a free one); stop it with ``server.stop()``."""
    server = ReferenceBankServer((host, port))
    thread = threading.Thread(target=server.serve_forever, name="reference-bank", daemon=True)
    thread.start()
    return server, thread
