"""A reference bank back-end answering the five Opus connector routes, and opusof's listing extension
(``connectors.http.listing``), from the sandbox bank's data.

Small on purpose: the stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive), JSON in and
out, translation through ``connectors.http.contract`` and the work done by ``connectors.sandbox.SandboxBank`` (so
balances, ledger, scenario amounts and idempotency are the sandbox's own). Run it with
``manage.py run_reference_bank --port N`` or, in tests, ``start_reference_bank()`` in a thread.

Faults are switched at runtime through ``/_faults`` so tests and people can stage a bad day:

- ``POST /_faults`` with any of ``{"latencySeconds": 2.5, "errorNext": 2, "errorStatus": 503,
  "dropNext": 1, "dropAfterProcessingNext": 1, "errorAfterProcessingNext": 1, "down": true,
  "routes": ["initiate"]}`` — latency before answering; answer the next N calls with ``errorStatus`` (default 503)
  without doing anything; drop the connection after reading the next N requests (before doing anything); do the
  work of the next N requests and then drop the connection without answering, or answer ``errorStatus`` instead
  of the result (the lost-response cases idempotency keys exist for); drop every request while ``down``.
  ``routes`` limits the faults to those routes (default: all). Values not given keep their current setting.
- ``tamperNext`` / ``wrongKeyNext`` (with response signing on): answer the next N calls with a JWS whose payload was
  altered after signing, or signed by a key the connector does not know.
- ``DELETE /_faults`` clears every fault; ``GET /_faults`` shows them and the calls received per route.

Idempotency: an initiation repeating an ``idempotencyKey`` gets the first one's payment (the sandbox bank's unique
key), and a cancellation repeating one gets the first one's answer (kept in memory: a real core keeps it with the
payment), so a retry after a lost answer never becomes a second effect or a refusal of the first.

Signing (``connectors.http.signing``): request bodies must be ``application/jwt`` signed by opusof (the contract's
media type; verified against opusof's JWKS, ``aud`` this bank's route URL, ``iat`` window, ``jti`` never reused);
an unsigned or badly signed request is answered 400 ``BAD_SIGNATURE`` and not processed. With ``sign_responses``
the answers are JWS too, with this bank's own key (``public_jwks``). Every request received is kept in ``requests``
(route, paymentType, decoded body) so tests can see which variant of a route the bank was sent.
"""

import base64
import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from connectors.http import listing, signing
from connectors.http.contract.discovery import (
    discovery_consent_from_request,
    discovery_params_from_request,
    discovery_response,
)
from connectors.http.contract.errors import error_body
from connectors.http.contract.lookup import PaymentLookup, payment_lookup_from_request
from connectors.http.contract.payment import PaymentView, initiation_from_request, payment_response
from connectors.http.contract.validation import (
    payment_data_from_validation_request,
    recurring_validation_from_request,
    validation_response,
)
from connectors.http.contract.wire import LISTING_ROUTE, ROUTES, ContractError, is_recurring_request
from connectors.interfaces import (
    AccountRef,
    AccountType,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentData,
    PaymentStatusResult,
    ValidationIssue,
    ValidationResult,
)
from connectors.models import SandboxPayment
from connectors.sandbox import SandboxBank
from opusof.keys import holder_public_jwks, jwk_thumbprint

logger = logging.getLogger("connectors.reference")
_ROUTE_BY_PATH = {path: route for route, path in ROUTES.items()}
ISSUER = "opusof-reference-bank"
_JTI_MEMORY = 100_000  # jti values remembered (oldest forgotten first); an iat older than the window is refused anyway


@dataclass
class Faults:
    """The fault switches, shared by every handler thread (guarded by ``lock``)."""

    latency_seconds: float = 0.0
    error_next: int = 0
    error_status: int = 503
    drop_next: int = 0
    drop_after_processing_next: int = 0
    error_after_processing_next: int = 0
    down: bool = False
    tamper_next: int = 0
    wrong_key_next: int = 0
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
            if "errorAfterProcessingNext" in body:
                self.error_after_processing_next = int(body["errorAfterProcessingNext"])
            if "down" in body:
                self.down = bool(body["down"])
            if "tamperNext" in body:
                self.tamper_next = int(body["tamperNext"])
            if "wrongKeyNext" in body:
                self.wrong_key_next = int(body["wrongKeyNext"])
            if "routes" in body:
                self.routes = {str(route) for route in body["routes"] or []}

    def clear(self) -> None:
        with self.lock:
            self.latency_seconds = 0.0
            self.error_next = self.drop_next = self.drop_after_processing_next = self.error_after_processing_next = 0
            self.tamper_next = self.wrong_key_next = 0
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
                "errorAfterProcessingNext": self.error_after_processing_next,
                "down": self.down,
                "tamperNext": self.tamper_next,
                "wrongKeyNext": self.wrong_key_next,
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
            elif self.error_after_processing_next > 0:
                self.error_after_processing_next -= 1
                action = "error_after"
            elif self.tamper_next > 0:
                self.tamper_next -= 1
                action = "tamper"
            elif self.wrong_key_next > 0:
                self.wrong_key_next -= 1
                action = "wrong_key"
            return self.latency_seconds, action, self.error_status


class ReferenceBankServer(ThreadingHTTPServer):
    daemon_threads = True
    # Fault tests open and drop many connections quickly.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        bank: SandboxBank | None = None,
        *,
        opusof_jwks: Any = None,
        verify_requests: bool = True,
        sign_responses: bool = False,
        public_url: str | None = None,
    ) -> None:
        super().__init__(address, _Handler)
        self.bank = bank or SandboxBank()
        self.faults = Faults()
        self.verify_requests = verify_requests
        self.sign_responses = sign_responses
        self.public_url = (public_url or self.base_url).rstrip("/")
        # opusof's published keys (the same process's, by default), and this bank's own key for its answers.
        self.opusof_keys = signing.keys_from(holder_public_jwks() if opusof_jwks is None else opusof_jwks)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.signing_key.public_key(), as_dict=True)
        self.kid = jwk_thumbprint(public)
        self.public_jwks = {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": signing.ALGORITHM}]}
        self.requests: deque[dict[str, Any]] = deque(maxlen=1000)
        self._seen_jti: OrderedDict[str, None] = OrderedDict()
        self._jti_lock = threading.Lock()
        # Cancellation answers by idempotencyKey; the lock makes two cancellations with one key one cancellation.
        self.cancellations: dict[str, tuple[int, Any]] = {}
        self.cancellation_lock = threading.Lock()
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

    def received(self, route: str) -> list[dict[str, Any]]:
        """The requests received on ``route`` (decoded bodies, oldest first)."""
        return [entry for entry in list(self.requests) if entry["route"] == route]

    def first_use_of(self, jti: str) -> bool:
        """Records ``jti``; False when it was seen before (a replayed request)."""
        with self._jti_lock:
            if jti in self._seen_jti:
                return False
            self._seen_jti[jti] = None
            while len(self._seen_jti) > _JTI_MEMORY:
                self._seen_jti.popitem(last=False)
            return True


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
            self._send(404, error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))

    def do_DELETE(self) -> None:
        if self.path == "/_faults":
            self._read()
            self.server.faults.clear()
            self._send(200, self.server.faults.snapshot())
        else:
            self._send(404, error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))

    def do_POST(self) -> None:
        raw = self._raw()
        if self.path == "/_faults":
            body = _json(raw)
            self.server.faults.update(body if isinstance(body, dict) else {})
            self._send(200, self.server.faults.snapshot())
            return
        route = _ROUTE_BY_PATH.get(self.path)
        if route is None:
            self._send(404, error_body([("NAO_INFORMADO", f"Rota {self.path} desconhecida.")]))
            return
        try:
            body = self._request_body(raw)
        except signing.SignatureError as exc:
            self.server.faults.decide(route)
            self._send(400, error_body([("BAD_SIGNATURE", f"Requisição sem assinatura válida: {exc}.")]))
            return
        kind = body.get("paymentType") if isinstance(body, dict) else None
        if route == "validate" and isinstance(body, dict):
            kind = (body.get("requestBody") or {}).get("paymentType")
        self.server.requests.append({"route": route, "paymentType": kind, "body": body})
        latency, action, error_status = self.server.faults.decide(route)
        if latency:
            time.sleep(latency)
        if action == "drop":
            self.close_connection = True
            return
        if action == "error":
            self._send(error_status, error_body([("FALHA_INFRAESTRUTURA", "Falha injetada.")]))
            return
        close_old_connections()
        status, answer = self._dispatch(route, body)
        if action == "drop_after":
            self.close_connection = True
            return
        if action == "error_after":
            self._send(error_status, error_body([("FALHA_INFRAESTRUTURA", "Falha injetada após o processamento.")]))
            return
        if self.server.sign_responses:
            self._send_signed(status, answer, tamper=action == "tamper", wrong_key=action == "wrong_key")
        else:
            self._send(status, answer)

    def _raw(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read(self) -> Any:
        return _json(self._raw())

    def _request_body(self, raw: bytes) -> Any:
        """The route's JSON body: from inside opusof's JWS (``application/jwt``, the contract's media type), or plain
        JSON only when verification is switched off."""
        if not self.headers.get("content-type", "").startswith(signing.CONTENT_TYPE):
            if self.server.verify_requests:
                raise signing.SignatureError(f"corpo deve ser {signing.CONTENT_TYPE}")
            return _json(raw)
        server = self.server
        token = raw.decode("ascii", errors="replace")
        body, jti = signing.verify(
            token,
            keys=server.opusof_keys,
            audience=f"{server.public_url}{self.path}",
            issuer=str(settings.OPUSOF_ORGANISATION_ID),
            tolerance_seconds=float(settings.OPUSOF_JWS_IAT_TOLERANCE_SECONDS),
        )
        if not server.first_use_of(jti):
            raise signing.SignatureError("jti já utilizado")
        return body

    def _send_signed(self, status: int, body: Any, *, tamper: bool, wrong_key: bool) -> None:
        server = self.server
        key, kid = server.signing_key, server.kid
        if wrong_key:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = signing.sign_with(
            key,
            kid,
            body,
            issuer=ISSUER,
            audience=str(settings.OPUSOF_ORGANISATION_ID),
            jti=str(uuid.uuid4()),
        )
        if tamper:
            header, claims, signature = token.split(".")
            altered = json.loads(base64.urlsafe_b64decode(claims + "=="))
            altered["tampered"] = True
            claims = base64.urlsafe_b64encode(json.dumps(altered).encode()).rstrip(b"=").decode()
            token = f"{header}.{claims}.{signature}"
        self._write(status, signing.CONTENT_TYPE, token.encode())

    def _send(self, status: int, body: Any) -> None:
        self._write(status, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode())

    def _write(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
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
                if is_recurring_request(body):
                    return validation_response(self._validate_recurring(body))
                return validation_response(bank.validate_payment_data(payment_data_from_validation_request(body)))
            if route == "discovery":
                customer, business = discovery_params_from_request(body)
                accounts = bank.discover_accounts(
                    customer_document=customer,
                    business_document=business,
                    consent=discovery_consent_from_request(body),
                )
                return 200, discovery_response(accounts)
            if route == "initiate":
                initiation = initiation_from_request(body)
                result = bank.initiate_payment(initiation)
                return 201, self._payment(result, idempotency_key=initiation.idempotency_key)
            if route == LISTING_ROUTE:
                since, cursor, size = listing.listing_params_from_request(body)
                page, after = bank.bank_payments_page(since=since, after=_cursor(cursor), limit=size)
                return 200, listing.listing_response(page, str(after) if after is not None else None)
            lookup = payment_lookup_from_request(body)
            if route == "cancel":
                return self._cancel(lookup, str(body.get("idempotencyKey") or ""))
            result = bank.get_payment_status(payment_id=lookup.payment_id, end_to_end_id=lookup.end_to_end_id)
            return 200, self._payment(result, payment_id=lookup.payment_id)
        except ContractError as exc:
            return 400, error_body([("PARAMETRO_INVALIDO", str(exc))])
        except ConnectorRejected as exc:
            return 422, error_body([(exc.code, exc.detail)])
        except ConnectorUnavailable as exc:
            return 503, error_body([("FALHA_INFRAESTRUTURA", str(exc))])

    def _cancel(self, lookup: PaymentLookup, key: str) -> tuple[int, Any]:
        """A cancellation, answered once per ``idempotencyKey``: a repeat gets the first answer (its ConnectorRejected
        and ConnectorUnavailable are not kept: nothing was done, so a repeat may try again)."""
        server = self.server
        with server.cancellation_lock:
            if key and key in server.cancellations:
                return server.cancellations[key]
            result = server.bank.cancel_payment(payment_id=lookup.payment_id, end_to_end_id=lookup.end_to_end_id)
            answer = (200, self._payment(result, payment_id=lookup.payment_id))
            if key:
                server.cancellations[key] = answer
            return answer

    def _validate_recurring(self, body: Any) -> ValidationResult:
        """A recurring consent has no amount of its own: the debtor account must be one the customer may pay from,
        and a Pix Automático first payment is checked as the payment it will be."""
        request = recurring_validation_from_request(body)
        bank = self.server.bank
        issues: list[ValidationIssue] = []
        if request.debtor_account is not None:
            accounts = bank.discover_accounts(
                customer_document=request.customer_document, business_document=request.business_document
            )
            if not any(found.account == request.debtor_account and found.may_pay for found in accounts):
                issues.append(ValidationIssue("CONTA_NAO_PERMITE_PAGAMENTO", "Conta de débito não permite pagamento."))
        terms = request.consent.recurring
        first = getattr(terms.configuration, "first_payment", None) if terms else None
        if terms is not None and first is not None:
            creditor = terms.creditors[0]
            issues.extend(
                bank.validate_payment_data(
                    PaymentData(
                        amount=first.amount,
                        currency=first.currency,
                        local_instrument="MANU",
                        creditor_account=first.creditor_account,
                        creditor_document=creditor.document,
                        creditor_name=creditor.name,
                        customer_document=request.customer_document,
                        business_document=request.business_document,
                        debtor_account=request.debtor_account,
                        payment_date=first.date,
                    )
                ).issues
            )
        return ValidationResult(tuple(issues))

    @staticmethod
    def _payment(result: PaymentStatusResult, **lookup: str) -> dict[str, Any]:
        row = SandboxPayment.objects.select_related("debtor_account").get(**lookup)
        view = PaymentView(
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
        return payment_response(view, result, now=timezone.now())


def _cursor(cursor: str | None) -> int:
    try:
        return int(cursor or 0)
    except ValueError as exc:
        raise ContractError(f"invalid cursor {cursor!r}") from exc


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return None


def start_reference_bank(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> tuple[ReferenceBankServer, threading.Thread]:
    """Starts the reference bank in a daemon thread (port 0: a free one); stop it with ``server.stop()``.
    ``options`` go to ReferenceBankServer (``sign_responses``, ``verify_requests``, ``opusof_jwks``)."""
    server = ReferenceBankServer((host, port), **options)
    thread = threading.Thread(target=server.serve_forever, name="reference-bank", daemon=True)
    thread.start()
    return server, thread
