"""A reference bank back-end answering the five Opus connector routes, and opusof's listing extension
(``connectors.http.listing``), from the sandbox bank's data.

Small on purpose: the stdlib ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive), JSON in and
out, translation through ``connectors.http.contract`` and the work done by ``connectors.sandbox.SandboxBank`` (so
balances, ledger, scenario amounts and idempotency are the sandbox's own; ``connectors.reference.routes``). Run it with
``manage.py run_reference_bank --port N`` or, in tests, ``start_reference_bank()`` in a thread.

Faults (``connectors.reference.faults``) are switched at runtime through ``/_faults`` so tests and people can stage
a bad day:

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
from collections import OrderedDict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import close_old_connections, connections
from jwt.algorithms import RSAAlgorithm

from connectors.http import signing
from connectors.http.contract.errors import error_body
from connectors.http.contract.wire import ROUTES
from connectors.reference import routes
from connectors.reference.faults import Faults
from connectors.sandbox import SandboxBank
from opusof.keys import holder_public_jwks, jwk_thumbprint

logger = logging.getLogger("connectors.reference")
_ROUTE_BY_PATH = {path: route for route, path in ROUTES.items()}
ISSUER = "opusof-reference-bank"
_JTI_MEMORY = 100_000  # jti values remembered (oldest forgotten first); an iat older than the window is refused anyway


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
        status, answer = routes.dispatch(self.server, route, body)
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
