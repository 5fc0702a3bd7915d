"""HttpBank: the production connector, speaking the Opus connector routes (``connectors.http.contract``) over HTTP.

Failure handling, per route:

- **Timeouts**: an explicit connect timeout and a read timeout per route (settings
  ``OPUSOF_CONNECTOR_HTTP_CONNECT_TIMEOUT`` / ``OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS``).
- **Outcome classification** (``docs/reconciliation.md``): a failure that provably happened before the request left
  (connection refused, connect timeout, DNS, no pooled connection, circuit open) or a 4xx the bank answered without
  acting (the contract's refusal of the request) is ConnectorUnavailable. On a route that moves money (``initiate``,
  ``cancel``: MONEY_ROUTES) anything after the request may have reached the bank — the connection reset or closed
  after the body was sent, a read error or timeout, any 5xx (the contract gives 5xx no "not processed" meaning: its
  only documented answers are 2xx, 422 and ``default: Erro inesperado``), an answer whose body or signature cannot
  be read — is ConnectorOutcomeUnknown: the caller holds the payment (PDNG) and asks the status route.
- **Retries** (tenacity, exponential backoff with jitter) on routes that are safe to repeat — validate, discovery,
  status, and the money routes because each call carries one idempotency key that every attempt repeats — and only
  on failures where no trustworthy answer came back: connection failures and 500/502/503/504. Never on a 4xx or
  422, never on a read timeout (the bank may still be working on it and the caller is waiting).
- **Circuit breaker** per route (pybreaker: maintained, thread-safe, half-open trial built in). It counts calls
  that ended ConnectorUnavailable after their retries; at ``fail_max`` it opens and calls fail fast with
  ConnectorUnavailable without touching the network, and after ``reset_timeout`` one trial call decides whether it
  closes again. Breakers are per process and per (base URL, route), shared by every thread.
- **Logging**: every attempt is a log line and a ConnectorCall row (route, attempt, HTTP status, latency, outcome,
  correlation id = the request's x-fapi-interaction-id), shown read-only in the admin.
- **Signing** (``connectors.http.signing``): the contract's request bodies are ``application/jwt``, so with
  ``OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS`` (on by default) each attempt sends the body as a PS256 JWS with opusof's
  key and a fresh ``jti``. Its responses are ``application/json``; a bank that signs them answers
  ``application/jwt``, verified against ``OPUSOF_CONNECTOR_HTTP_BANK_JWKS`` (``..._REQUIRE_SIGNED_RESPONSES``
  refuses plain JSON). A body whose signature does not verify is the bank failing after it got the request:
  ConnectorOutcomeUnknown (a ConnectorUnavailable), not retried.

Outcomes are the connector interface's exceptions: ConnectorRejected(code) for a 422 with the contract's error
body, ConnectorOutcomeUnknown as above, ConnectorUnavailable for everything else that is not a success.
"""

import datetime as dt
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pybreaker
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connectors.http import calllog, listing, signing
from connectors.http.contract.discovery import discovered_accounts_from_response, discovery_request
from connectors.http.contract.errors import errors_from_body
from connectors.http.contract.lookup import cancellation_idempotency_key, cancellation_request, find_request
from connectors.http.contract.payment import initiation_request, status_from_response
from connectors.http.contract.validation import validation_request, validation_result_from_response
from connectors.http.contract.wire import LISTING_ROUTE, ROUTES, ContractError, request_meta
from connectors.interfaces import (
    BankPaymentRecord,
    ConnectorOutcomeUnknown,
    ConnectorRejected,
    ConnectorUnavailable,
    ConsentInfo,
    DiscoveredAccount,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
    ValidationResult,
)
from opusof.context import interaction_id_var

logger = logging.getLogger("connectors.http")
T = TypeVar("T")

# Routes a repeated request cannot harm: reads, and the money routes because every attempt of one call carries the
# same idempotencyKey, on which the bank deduplicates (a repeated key answers the first result, never a new effect).
RETRYABLE_ROUTES = frozenset({"validate", "discovery", "initiate", "status", "cancel", LISTING_ROUTE})
# Routes whose request moves money, or stops it moving: an answer lost after the request may have reached the bank
# is an unknown outcome (ConnectorOutcomeUnknown), never an unavailability the caller may read as "not done".
MONEY_ROUTES = frozenset({"initiate", "cancel"})
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
# Codes the bank may answer with that are not refusals of the payment but of its own health.
_INFRASTRUCTURE_CODES = frozenset({"FALHA_INFRAESTRUTURA"})


class _Retryable(ConnectorUnavailable):
    """No trustworthy answer came back (connection failure, 500/502/503/504): worth another attempt on a retryable
    route. ``maybe_reached`` is False only when the request provably never left (refused, connect timeout, DNS)."""

    def __init__(self, message: str, *, maybe_reached: bool) -> None:
        super().__init__(message)
        self.maybe_reached = maybe_reached


# Failures raised before a byte of the request left: the bank cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


_breakers: dict[tuple[str, str], pybreaker.CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(base_url: str, route: str) -> pybreaker.CircuitBreaker:
    """The process-wide breaker of one route of one bank."""
    key = (base_url, route)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = _breakers[key] = pybreaker.CircuitBreaker(
                fail_max=int(settings.OPUSOF_CONNECTOR_HTTP_BREAKER_FAIL_MAX),
                reset_timeout=float(settings.OPUSOF_CONNECTOR_HTTP_BREAKER_RESET_SECONDS),
                # A refusal is the bank working as designed; only unavailability counts against the route.
                exclude=[ConnectorRejected],
                # The call that trips the breaker still raises its own ConnectorUnavailable.
                throw_new_error_on_trip=False,
                name=f"{route}@{base_url}",
            )
        return breaker


def reset_breakers() -> None:
    """Forgets every breaker (tests; a settings change)."""
    with _breakers_lock:
        _breakers.clear()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("OPUSOF_CONNECTOR_HTTP_BREAKER_"):
        reset_breakers()


class HttpBank:
    """Implements ValidatePaymentData, DiscoverAccounts, InitiatePayment, GetPaymentStatus and CancelPayment over
    the Opus connector routes at ``OPUSOF_CONNECTOR_HTTP_BASE_URL``, and ListBankPayments over opusof's listing
    extension."""

    def __init__(self, base_url: str | None = None) -> None:
        base_url = (base_url or settings.OPUSOF_CONNECTOR_HTTP_BASE_URL).rstrip("/")
        if not base_url:
            raise ImproperlyConfigured("OPUSOF_CONNECTOR_HTTP_BASE_URL is required by connectors.http.HttpBank")
        self.base_url = base_url
        self.brand_id = str(settings.OPUSOF_CONNECTOR_HTTP_BRAND_ID)
        self.connect_timeout = float(settings.OPUSOF_CONNECTOR_HTTP_CONNECT_TIMEOUT)
        self.read_timeouts: dict[str, float] = dict(settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS)
        self.max_attempts = int(settings.OPUSOF_CONNECTOR_HTTP_MAX_ATTEMPTS)
        self.backoff_initial = float(settings.OPUSOF_CONNECTOR_HTTP_BACKOFF_SECONDS)
        self.sign_requests = bool(settings.OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS)
        self.require_signed_responses = bool(settings.OPUSOF_CONNECTOR_HTTP_REQUIRE_SIGNED_RESPONSES)
        try:
            self.bank_keys = signing.keys_from(settings.OPUSOF_CONNECTOR_HTTP_BANK_JWKS)
        except ValueError as exc:
            raise ImproperlyConfigured(f"OPUSOF_CONNECTOR_HTTP_BANK_JWKS is not a JWKS: {exc}") from exc
        if self.require_signed_responses and not self.bank_keys:
            raise ImproperlyConfigured(
                "OPUSOF_CONNECTOR_HTTP_REQUIRE_SIGNED_RESPONSES needs OPUSOF_CONNECTOR_HTTP_BANK_JWKS"
            )
        # One pooled client per instance (the registry shares one instance per process): keep-alive connections.
        self._client = httpx.Client(
            base_url=base_url,
            headers={"accept": f"{signing.CONTENT_TYPE}, application/json"},
            # TCP_NODELAY: a request's headers and body may leave in two writes; with Nagle the body would wait
            # for the bank's delayed ACK (tens of milliseconds per call).
            transport=httpx.HTTPTransport(
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
        )

    def close(self) -> None:
        """Closes the pooled connections."""
        self._client.close()

    # --- the connector contract -------------------------------------------------------------------------------

    def validate_payment_data(self, data: PaymentData) -> ValidationResult:
        """POST /payment-validation: 200 passes, 422 lists the issues (never raises ConnectorRejected)."""
        status, body = self._call("validate", validation_request(data, meta=self._meta()), accept=(422,))
        return _parse("validate", validation_result_from_response, status, body)

    def discover_accounts(
        self, *, customer_document: str, business_document: str | None = None, consent: ConsentInfo | None = None
    ) -> list[DiscoveredAccount]:
        """POST /account-discovery: the accounts the customer may pay from (recurring variant for a recurring
        consent)."""
        request = discovery_request(
            customer_document=customer_document, business_document=business_document, meta=self._meta(), consent=consent
        )
        _, body = self._call("discovery", request)
        return _parse("discovery", discovered_accounts_from_response, body)

    def initiate_payment(self, initiation: PaymentInitiation) -> PaymentStatusResult:
        """POST /payments with ``idempotencyKey``: retried on connection failures, paid once."""
        request = initiation_request(initiation, meta=self._meta())
        _, body = self._call("initiate", request, idempotency_key=initiation.idempotency_key)
        return _parse("initiate", status_from_response, body)

    def get_payment_status(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        """POST /find: the bank's current status of the payment."""
        request = find_request(payment_id=payment_id, end_to_end_id=end_to_end_id, meta=self._meta(), context=context)
        _, body = self._call("status", request)
        return _parse("status", status_from_response, body)

    def cancel_payment(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        """POST /cancellation: CANC, or ConnectorRejected(PAGAMENTO_NAO_PERMITE_CANCELAMENTO). Carries
        ``idempotencyKey`` (CancellationPixPayment), one per payment, so a retry after a lost answer is the same
        cancellation and not a second one the bank would refuse."""
        key = cancellation_idempotency_key(payment_id)
        request = cancellation_request(
            payment_id=payment_id, end_to_end_id=end_to_end_id, meta=self._meta(), context=context, idempotency_key=key
        )
        _, body = self._call("cancel", request, idempotency_key=key)
        return _parse("cancel", status_from_response, body)

    def list_bank_payments(self, *, since: dt.datetime | None = None) -> Iterator[BankPaymentRecord]:
        """POST /opusof/payment-listing (an opusof extension: the Opus contract has no listing route), page by page:
        every payment the bank created or changed since ``since`` (all of them without it)."""
        cursor: str | None = None
        while True:
            request = listing.listing_request(since=since, cursor=cursor, meta=self._meta())
            _, body = self._call(LISTING_ROUTE, request)
            records, cursor = _parse(LISTING_ROUTE, listing.listing_from_response, body)
            yield from records
            if not cursor:
                return

    # --- transport ------------------------------------------------------------------------------------------------

    def _meta(self) -> dict[str, str]:
        return request_meta(interaction_id_var.get(), self.brand_id)

    def _call(
        self, route: str, payload: dict[str, Any], *, accept: tuple[int, ...] = (), idempotency_key: str = ""
    ) -> tuple[int, Any]:
        """One logical call: breaker around retries around attempts. Returns (status, JSON body)."""
        breaker = breaker_for(self.base_url, route)
        correlation_id = interaction_id_var.get() or payload["requestMeta"]["correlationId"]
        attempts = 0
        maybe_reached = False

        def attempt() -> tuple[int, Any]:
            nonlocal attempts, maybe_reached
            attempts += 1
            try:
                return self._attempt(route, payload, attempts, accept, correlation_id, idempotency_key)
            except _Retryable as exc:
                maybe_reached = maybe_reached or exc.maybe_reached
                raise

        def retried() -> tuple[int, Any]:
            retrying = Retrying(
                stop=stop_after_attempt(self.max_attempts if route in RETRYABLE_ROUTES else 1),
                wait=wait_exponential_jitter(multiplier=self.backoff_initial, jitter=self.backoff_initial, max=2.0),
                retry=retry_if_exception(lambda exc: isinstance(exc, _Retryable)),
                reraise=True,
            )
            try:
                return retrying(attempt)
            except ConnectorOutcomeUnknown:
                raise
            except ConnectorUnavailable as exc:
                # Even when the last attempt was refused at connect or answered a 4xx, an earlier one may have
                # been acted on: for a money route only "no attempt can have reached the bank" is unavailability.
                if route in MONEY_ROUTES and maybe_reached:
                    logger.warning("connector %s: outcome unknown after %s attempt(s): %s", route, attempts, exc)
                    raise ConnectorOutcomeUnknown(
                        f"{route}: resultado desconhecido após {attempts} tentativa(s): {exc}"
                    ) from exc
                raise

        try:
            return _through(breaker, retried)
        except pybreaker.CircuitBreakerError as exc:
            self._log(route, 0, None, "CIRCUIT_OPEN", 0.0, correlation_id, idempotency_key, "", str(exc))
            raise ConnectorUnavailable(f"{route}: circuito aberto, banco indisponível") from exc

    def _attempt(
        self,
        route: str,
        payload: dict[str, Any],
        number: int,
        accept: tuple[int, ...],
        correlation_id: str,
        idempotency_key: str,
    ) -> tuple[int, Any]:
        timeout = httpx.Timeout(self.read_timeouts.get(route, 5.0), connect=self.connect_timeout)
        headers = {"x-fapi-interaction-id": correlation_id}
        if idempotency_key:
            headers["x-idempotency-key"] = idempotency_key
        started = time.perf_counter()

        def log(outcome: str, status: int | None, code: str = "", detail: str = "") -> None:
            latency = (time.perf_counter() - started) * 1000
            self._log(route, number, status, outcome, latency, correlation_id, idempotency_key, code, detail)

        if self.sign_requests:
            # Signed per attempt: a retry carries a fresh jti, which a bank checking replays must accept.
            content = signing.sign_request(payload, audience=f"{self.base_url}{ROUTES[route]}").encode()
            headers["content-type"] = signing.CONTENT_TYPE
        else:
            content = json.dumps(payload, cls=DjangoJSONEncoder).encode()
            headers["content-type"] = "application/json"
        try:
            response = self._client.post(ROUTES[route], content=content, headers=headers, timeout=timeout)
        except _NOT_SENT as exc:
            # Refused, unreachable, DNS, no connection from the pool: the request never left.
            log("UNAVAILABLE", None, type(exc).__name__, str(exc))
            raise _Retryable(f"{route}: {type(exc).__name__}: {exc}", maybe_reached=False) from exc
        except httpx.TimeoutException as exc:
            # A read (or write) timeout: the bank may still be working on it, and the caller is waiting.
            log("UNAVAILABLE", None, type(exc).__name__, str(exc))
            raise ConnectorOutcomeUnknown(f"{route}: sem resposta em {timeout.read}s") from exc
        except httpx.TransportError as exc:
            # Reset, closed without an answer, read or write error: the body may have reached the bank.
            log("UNAVAILABLE", None, type(exc).__name__, str(exc))
            raise _Retryable(f"{route}: {type(exc).__name__}: {exc}", maybe_reached=True) from exc
        status = response.status_code
        if status in RETRYABLE_STATUSES:
            log("UNAVAILABLE", status, f"HTTP_{status}")
            raise _Retryable(f"{route}: HTTP {status}", maybe_reached=True)
        try:
            body = self._body(response, acted_on=200 <= status < 300 or status in accept or status == 422)
        except signing.SignatureError as exc:
            # The bank got the request and what came back cannot be trusted: for an initiation the bank may have
            # paid, so the outcome is unknown (held, then settled by the status route), never a refusal.
            log("UNAVAILABLE", status, "BAD_SIGNATURE", str(exc))
            raise ConnectorOutcomeUnknown(f"{route}: resposta com assinatura inválida: {exc}") from exc
        if 200 <= status < 300 or status in accept:
            if body is None:
                log("UNAVAILABLE", status, "INVALID_BODY")
                raise _unreadable(route, f"{route}: corpo inválido (HTTP {status})")
            log("OK", status)
            return status, body
        errors = _errors(body)
        if status == 422 and errors and errors[0][0] not in _INFRASTRUCTURE_CODES:
            code, detail = errors[0]
            log("REJECTED", status, code, detail)
            raise ConnectorRejected(code, detail)
        # Any other status (400, 404, a 422 without the contract's body or with FALHA_INFRAESTRUTURA, a 5xx not
        # retried) is a broken integration, not a refusal of this payment: the regulated outcome is an
        # infrastructure failure. Not retried. A 4xx is the bank refusing the request before acting on it; a 5xx may
        # come after it acted, which on a money route is an unknown outcome.
        code, detail = errors[0] if errors else (f"HTTP_{status}", "")
        log("UNAVAILABLE", status, code, detail)
        message = f"{route}: HTTP {status} {code} {detail}".strip()
        if status >= 500:
            raise _unreadable(route, message)
        raise ConnectorUnavailable(message)

    def _body(self, response: httpx.Response, *, acted_on: bool) -> Any:
        """The response's JSON body, from inside its JWS when the bank signed it; None when it is not JSON."""
        if response.headers.get("content-type", "").startswith(signing.CONTENT_TYPE):
            body, _ = signing.verify(
                response.text,
                keys=self.bank_keys,
                audience=str(settings.OPUSOF_ORGANISATION_ID),
                tolerance_seconds=float(settings.OPUSOF_JWS_IAT_TOLERANCE_SECONDS),
            )
            return body
        if self.require_signed_responses and acted_on:
            raise signing.SignatureError("resposta sem assinatura (application/jwt exigido)")
        try:
            return response.json() if response.content else {}
        except ValueError:
            return None

    def _log(
        self,
        route: str,
        attempt: int,
        status: int | None,
        outcome: str,
        latency_ms: float,
        correlation_id: str,
        idempotency_key: str,
        code: str,
        detail: str,
    ) -> None:
        level = logging.INFO if outcome in ("OK", "REJECTED") else logging.WARNING
        logger.log(
            level,
            "connector call %s #%s %s %s %.1f ms",
            route,
            attempt,
            outcome,
            status or "-",
            latency_ms,
            extra={"route": route, "attempt": attempt, "http_status": status, "latency_ms": round(latency_ms, 2)},
        )
        calllog.record(
            route=route,
            method="POST",
            url=f"{self.base_url}{ROUTES[route]}",
            attempt=attempt,
            http_status=status,
            outcome=outcome,
            error_code=code[:60],
            error_detail=detail[:2048],
            latency_ms=latency_ms,
            correlation_id=correlation_id[:100],
            idempotency_key=idempotency_key[:100],
        )


def _through(breaker: pybreaker.CircuitBreaker, func: Callable[[], T]) -> T:
    result: T = breaker.call(func)
    return result


def _unreadable(route: str, message: str) -> ConnectorUnavailable:
    """The bank got the request and its answer cannot be used: on a money route it may have acted (unknown)."""
    return ConnectorOutcomeUnknown(message) if route in MONEY_ROUTES else ConnectorUnavailable(message)


def _parse(route: str, parser: Callable[..., T], *args: Any) -> T:
    """A 2xx body that breaks the contract is the bank failing, not a refusal: ConnectorUnavailable (unknown outcome
    on a money route: the bank answered 2xx, so it acted), never a 500."""
    try:
        return parser(*args)
    except ContractError as exc:
        logger.warning("connector %s answered outside the contract: %s", route, exc)
        raise _unreadable(route, f"{route}: resposta fora do contrato: {exc}") from exc


def _errors(body: Any) -> list[tuple[str, str]]:
    try:
        return errors_from_body(body)
    except ContractError:
        return []
