"""One Pix payment lifecycle for payments v4 (PixPayment) and automatic payments v2 (RecurringPayment): hand a
recorded payment to the bank and apply its answer, ask the bank about a payment it left open or whose answer was
lost, cancel a payment at the bank, and poll with a backoff and a staff flag.

Record before effect (docs/money-safety.md): the caller has committed the payment, with the key the bank
deduplicates on (its id) and ``bank_requested_at``, before anything here calls the bank; no database transaction is
open across a connector call; the bank's answer is applied in a second short transaction, under the row lock, only
if the row is still where it was when the bank was asked (a poll or a retried request may have applied the same
answer first). An outcome we did not get is asked of the bank (status route), never guessed; a payment the bank
does not know is initiated again with the same key, so a late first attempt and the new one are one payment.
"""

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q, QuerySet

from connectors.interfaces import (
    ConnectorOutcomeUnknown,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentContext,
    PaymentInitiation,
    PaymentStatusResult,
)
from connectors.registry import payment_canceller, payment_initiator, payment_status_reader
from opusof import clock
from opusof.timeutil import business_date
from opusof.transitions import transition
from payments.models import (
    CANCELLABLE_STATUSES,
    FINAL_PAYMENT_STATUSES,
    PaymentPollState,
    PaymentStatus,
    PixPaymentBase,
)

logger = logging.getLogger(__name__)

# Statuses the bank still owes us a final answer on; SCHD counts once its date has come.
POLLED_STATUSES = (PaymentStatus.ACCP, PaymentStatus.ACPD, PaymentStatus.PDNG)
# What a poll may find the payment still waiting in: open at the bank, or scheduled when it is polled on its date.
_STILL_OPEN = (*POLLED_STATUSES, PaymentStatus.SCHD, PaymentStatus.RCVD)


@dataclass(frozen=True)
class PaymentKind:
    """How the lifecycle reaches one payment model: its wire id (also the bank's idempotency key), the field of its
    settlement date, the connector's view of it, and the PaymentPollState field naming it."""

    model: type[PixPaymentBase]
    id_field: str
    date_field: str
    poll_state_field: str
    initiation: Callable[[Any], PaymentInitiation]
    context: Callable[[Any, str | None], PaymentContext]

    def key(self, payment: PixPaymentBase) -> str:
        return str(getattr(payment, self.id_field))

    def select(self, payment_id: str) -> QuerySet[Any]:
        return self.model.objects.filter(**{self.id_field: payment_id})

    def get(self, payment_id: str, *, lock: bool = False) -> Any:
        queryset = self.select(payment_id).select_related("consent")
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        return queryset.get()


def end_to_end_ids_used(end_to_end_ids: list[str]) -> bool:
    """Whether a Pix payment of any kind (payments v4, automatic payments v2) already carries one of these
    endToEndIds: one names one Pix for the SPI, and the bank would pay a second payment carrying it. Refused rows
    count: the bank has seen them."""
    kinds = [model for model in apps.get_models() if issubclass(model, PixPaymentBase)]
    found = [
        model.objects.filter(**{"end_to_end_id__in": end_to_end_ids}).values_list("pk").order_by() for model in kinds
    ]
    # One query for every kind: UNION ALL of one indexed lookup per table.
    return bool(found[0].union(*found[1:], all=True)[:1])


def fault_point(name: str) -> None:
    """Test hook of the fault-injection tests: when OPUSOF_FAULT_POINT names this point the process dies here
    (OPUSOF_FAULT_ACTION ``exit``, as kill -9 would) or loses its database connection (``drop-db``), between the
    bank's answer and our commit. Inert unless the variable is set."""
    if os.environ.get("OPUSOF_FAULT_POINT") != name:
        return
    if os.environ.get("OPUSOF_FAULT_ACTION", "exit") != "drop-db":
        os._exit(75)
    own = connections["default"]
    own.ensure_connection()
    with own.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()


def apply_bank_status(payment: PixPaymentBase, result: PaymentStatusResult, *, actor: str) -> bool:
    """Moves the payment to what the bank reports; False when there is nothing to change."""
    move = payment.bank_status_transition(result, now=clock.now())
    if move is None:
        return False
    transition(payment, move, actor=actor, reason=result.rejection_code or "")
    return True


def reject(payment: PixPaymentBase, *, code: str, detail: str, actor: str) -> None:
    """RJCT with the reason ``code`` stands for (PixPaymentBase.rejection_reason_for)."""
    reason = payment.rejection_reason_for(code)
    transition(payment, lambda: payment.reject(reason=reason, detail=detail[:2048]), actor=actor, reason=reason)


def _apply(kind: PaymentKind, payment_id: str, sent_from: str, change: Callable[[Any], object]) -> Any:
    """The second transaction: ``change`` runs under the row lock only if the row is still ``sent_from``."""
    with transaction.atomic():
        payment = kind.get(payment_id, lock=True)
        if payment.status == sent_from:
            change(payment)
        return payment


@dataclass(frozen=True)
class Initiated:
    """The payment after the bank's answer was applied; ``refusal`` when this call recorded the bank's refusal."""

    payment: Any
    refusal: ConnectorRejected | None = None


def initiate(kind: PaymentKind, payment: PixPaymentBase, *, hide_refusal: bool, actor: str) -> Initiated:
    """Hands a recorded payment to the bank and applies the answer (see the module docstring). A refusal is RJCT
    with its code; with ``hide_refusal`` (the synchronous answer of a POST, §2.2.2 "o pagamento não é criado") the
    row is marked refused at creation, hidden from the TPP and not announced. A lost answer holds it PDNG for the
    poll; an unreachable bank (the request never got there) is RJCT FALHA_INFRAESTRUTURA_DETENTORA."""
    payment_id, sent_from = kind.key(payment), payment.status
    assert payment.bank_requested_at is not None, "recorded as handed to the bank before calling it"
    try:
        result = payment_initiator().initiate_payment(kind.initiation(payment))
    except ConnectorRejected as exc:
        fault_point("after-bank-answer")
        refused = exc

        def record_refusal(locked: Any) -> None:
            locked.refused_at_creation = hide_refusal
            reject(locked, code=refused.code, detail=refused.detail or refused.code, actor="system:bank")

        locked = _apply(kind, payment_id, sent_from, record_refusal)
        applied = locked.status == PaymentStatus.RJCT and locked.refused_at_creation == hide_refusal
        return Initiated(locked, refused if applied else None)
    except ConnectorOutcomeUnknown as exc:
        fault_point("after-bank-answer")
        unknown = f"resultado desconhecido: {exc}"
        # The bank may have paid: hold it (PDNG) and let the status poll learn the outcome, never RJCT it.
        return Initiated(
            _apply(kind, payment_id, sent_from, lambda p: transition(p, p.hold, actor="system:bank", reason=unknown))
        )
    except ConnectorUnavailable as exc:
        detail = f"Detentora indisponível: {exc}"
        return Initiated(
            _apply(
                kind,
                payment_id,
                sent_from,
                lambda p: reject(p, code="FALHA_INFRAESTRUTURA_DETENTORA", detail=detail, actor="system:bank"),
            )
        )
    fault_point("after-bank-answer")
    return Initiated(_apply_answer(kind, payment, result, actor=actor))


def _apply_answer(kind: PaymentKind, payment: Any, result: PaymentStatusResult, *, actor: str) -> Any:
    """The bank's answer to an initiation, as the second transaction of ``_apply`` would apply it, in one
    statement and without reading the row under its lock first: the move is written only if the row still holds
    the status the bank was asked from (a compare-and-set, opusof.transitions); a row that moved meanwhile (a poll,
    a retried request) is read again under the lock. It commits without waiting for the disk: our record of the
    payment was committed, durably, before the bank was called, and a crash of the database server that loses this
    answer leaves it RCVD and handed to the bank, which the poll asks the bank about (``resolve``)."""
    payment_id, sent_from = kind.key(payment), payment.status
    if not transaction.get_autocommit() or connections["default"].vendor != "postgresql":
        return _apply(kind, payment_id, sent_from, lambda p: apply_bank_status(p, result, actor=actor))
    move = payment.bank_status_transition(result, now=clock.now())
    if move is None:
        return payment
    if transition(
        payment, move, actor=actor, reason=result.rejection_code or "", compare_and_set=True, asynchronous=True
    ):
        return payment
    return _apply(kind, payment_id, sent_from, lambda p: apply_bank_status(p, result, actor=actor))


def resolve(kind: PaymentKind, payment_id: str, *, actor: str) -> Any:
    """Asks the bank about a payment handed to it (status route) and applies the answer. A payment the bank does
    not know while it is RCVD (its initiation's answer never reached our commit) or PDNG (held after a lost answer)
    is initiated again with the same key; a recorded cancellation the bank has not applied is asked again. RCVD rows
    never handed to the bank are the worker's (their batch task), and final ones are left alone."""
    payment = kind.get(payment_id)
    if payment.status in FINAL_PAYMENT_STATUSES:
        return payment
    if payment.status == PaymentStatus.RCVD and payment.bank_requested_at is None:
        return payment
    observed = payment.status
    try:
        result = payment_status_reader().get_payment_status(
            payment_id=payment_id, end_to_end_id=payment.end_to_end_id, context=kind.context(payment, None)
        )
    except ConnectorRejected:
        if observed not in (PaymentStatus.RCVD, PaymentStatus.PDNG):
            raise
        return initiate(kind, payment, hide_refusal=False, actor=actor).payment
    if payment.cancel_request is not None and result.status in CANCELLABLE_STATUSES:
        return complete_cancel(kind, payment_id).payment
    return _apply(kind, payment_id, observed, lambda p: apply_bank_status(p, result, actor=actor))


def record_cancel_request(
    payment: PixPaymentBase,
    *,
    reason: str,
    cancelled_from: str,
    document: str,
    rel: str,
    actor: str,
    reject_code: str = "",
    reject_detail: str = "",
) -> None:
    """Records, in the caller's transaction and under its row lock, a cancellation about to be asked of the bank
    (who asks, why, and, for a cancellation the holder makes on its own, the rejection to record if the bank will
    not cancel), with a history row. ``complete_cancel`` asks the bank once the caller has committed."""
    now = clock.now()
    payment.cancel_request = {
        "from": cancelled_from,
        "document": document,
        "rel": rel,
        "actor": actor,
        "reason": reason,
        "reject_code": reject_code,
        "reject_detail": reject_detail,
    }
    payment.cancel_requested_at = now
    payment.save(update_fields=["cancel_request", "cancel_requested_at"])
    history: Any = payment.history_model()._default_manager
    history.create(
        payment=payment,
        from_status=payment.status,
        to_status=payment.status,
        actor=actor,
        reason="cancelamento solicitado à detentora",
        created_at=now,
    )


@dataclass(frozen=True)
class CancelOutcome:
    """The payment after the bank's answer; ``refusal`` says why the bank did not cancel it."""

    payment: Any
    refusal: str | None = None
    unavailable: bool = False


def complete_cancel(kind: PaymentKind, payment_id: str) -> CancelOutcome:
    """Asks the bank to cancel a payment whose cancellation is recorded (``record_cancel_request``, committed), with
    no transaction open, then applies the answer under the row lock: CANC for the requester, or the request
    withdrawn (or the holder's rejection recorded) when the bank will not cancel. A refusal of a payment the bank
    already cancelled (a first attempt whose answer was lost) is settled by the status route."""
    payment = kind.get(payment_id)
    if payment.cancel_request is None or payment.status not in CANCELLABLE_STATUSES:
        return CancelOutcome(payment)
    sent_from = payment.status
    document = payment.cancel_request["document"]
    try:
        payment_canceller().cancel_payment(
            payment_id=payment_id, end_to_end_id=payment.end_to_end_id, context=kind.context(payment, document)
        )
    except ConnectorRejected as exc:
        if _bank_status(kind, payment) == PaymentStatus.CANC:
            return CancelOutcome(_apply(kind, payment_id, sent_from, _record_cancel))
        detail = exc.detail or exc.code
        return CancelOutcome(_apply(kind, payment_id, sent_from, lambda p: _not_cancelled(p, detail)), detail)
    except ConnectorUnavailable as exc:
        detail = f"Detentora indisponível: {exc}"
        return CancelOutcome(
            _apply(kind, payment_id, sent_from, lambda p: _not_cancelled(p, detail)), detail, unavailable=True
        )
    fault_point("after-bank-cancel")
    return CancelOutcome(_apply(kind, payment_id, sent_from, _record_cancel))


def _bank_status(kind: PaymentKind, payment: Any) -> str | None:
    try:
        return (
            payment_status_reader()
            .get_payment_status(
                payment_id=kind.key(payment), end_to_end_id=payment.end_to_end_id, context=kind.context(payment, None)
            )
            .status
        )
    except (ConnectorRejected, ConnectorUnavailable):
        return None


def _record_cancel(payment: Any) -> None:
    asked = payment.cancel_request
    if asked is None:
        return
    at = clock.now()
    transition(
        payment,
        lambda: payment.cancel(
            reason=asked["reason"],
            cancelled_from=asked["from"],
            document=asked["document"],
            rel=asked["rel"],
            at=at,
        ),
        actor=asked["actor"],
        reason=asked["reason"],
    )


def _not_cancelled(payment: Any, detail: str) -> None:
    asked = payment.cancel_request
    if asked is None:
        return
    payment.cancel_request = payment.cancel_requested_at = None
    if asked.get("reject_code"):
        # A charge the consent no longer covers that the bank could not cancel: recorded RJCT with the holder's
        # reason; a final status is never polled again.
        full = f"{asked['reject_detail']} ({detail})"
        reject(payment, code=asked["reject_code"], detail=full, actor=asked["actor"])
        return
    payment.save(update_fields=["cancel_request", "cancel_requested_at"])


# --- polling: what is due, and one poll with backoff and a staff flag ---------------------------------------------


def _poll_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def stranded_after() -> dt.timedelta:
    """How long a payment handed to the bank may stay RCVD before the poll asks the bank about it: longer than a
    request's own bank call (connector timeouts and retries), OPUSOF_STRANDED_AFTER_SECONDS."""
    return dt.timedelta(seconds=_poll_setting("OPUSOF_STRANDED_AFTER_SECONDS", 120))


def due_for_poll(
    kind: PaymentKind, *, schedules: bool, backoff: bool = True, limit: int = 500, now: dt.datetime | None = None
) -> list[str]:
    """The one query of payments to ask the bank about, least recently updated first: open at the bank
    (ACCP/ACPD/PDNG), handed to the bank and still RCVD after ``stranded_after`` (a crash or a lost connection
    between the bank's answer and our commit), with a cancellation recorded and not confirmed after as long, and, with
    ``schedules``, SCHD once their date has come (payments v4 leaves those to its due sweep). With ``backoff``, only
    those whose next poll (PaymentPollState) is due."""
    now = now or clock.now()
    due = (
        Q(status__in=POLLED_STATUSES)
        | Q(status=PaymentStatus.RCVD, bank_requested_at__lt=now - stranded_after())
        | Q(status__in=CANCELLABLE_STATUSES, cancel_requested_at__lt=now - stranded_after())
    )
    if schedules:
        due |= Q(status=PaymentStatus.SCHD, **{f"{kind.date_field}__lte": business_date()})
    queryset = kind.model.objects.filter(due)
    if backoff:
        queryset = queryset.exclude(poll_state__next_poll_at__gt=now)
    return list(queryset.order_by("status_updated_at").values_list(kind.id_field, flat=True)[:limit])


def poll_backoff(attempts: int) -> dt.timedelta:
    """30 s, 60 s, 120 s, ... capped at one hour (OPUSOF_POLL_BASE_SECONDS / OPUSOF_POLL_MAX_SECONDS)."""
    base = _poll_setting("OPUSOF_POLL_BASE_SECONDS", 30)
    cap = _poll_setting("OPUSOF_POLL_MAX_SECONDS", 3600)
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def flag_for_staff(kind: PaymentKind, payment: PixPaymentBase, *, reason: str) -> None:
    """Flags a payment whose state at the bank opusof could not settle for staff (PaymentPollState.needs_attention,
    the admin's "payment status polls" filtered on needs attention). Caller's transaction."""
    now = clock.now()
    state, _ = PaymentPollState.objects.select_for_update().get_or_create(
        **{kind.poll_state_field: payment}, defaults={"next_poll_at": now}
    )
    state.needs_attention, state.flagged_at, state.last_error = True, now, reason[:1024]
    state.save()
    logger.error("payment flagged for staff", extra={"payment": kind.key(payment), "reason": reason})


def poll_with_backoff(kind: PaymentKind, payment_id: str, *, actor: str = "system:poll") -> str | None:
    """Resolves one payment with the bank (``resolve``) and schedules its next poll in its PaymentPollState: the
    interval doubles while the bank's answer stays the same (or it cannot be reached); past
    OPUSOF_POLL_ATTENTION_AFTER polls the payment is flagged for staff, and polling goes on at the ceiling
    interval. Returns the status after the poll."""
    before = kind.select(payment_id).values_list("status", flat=True).first()
    if before is None:
        return None
    error = ""
    try:
        after = resolve(kind, payment_id, actor=actor).status
    except ConnectorUnavailable as exc:
        after, error = before, f"detentora indisponível: {exc}"
    except ConnectorRejected as exc:
        after, error = before, f"detentora recusou a consulta: {exc.code} {exc.detail}"
    now = clock.now()
    with transaction.atomic():
        state, _ = PaymentPollState.objects.select_for_update().get_or_create(
            **{kind.poll_state_field: kind.select(payment_id).get()}, defaults={"next_poll_at": now}
        )
        state.attempts = 1 if after != before else state.attempts + 1
        state.last_polled_at = now
        state.last_error = error[:1024]
        state.next_poll_at = now + poll_backoff(state.attempts)
        still_open = after in _STILL_OPEN
        if still_open and state.attempts >= _poll_setting("OPUSOF_POLL_ATTENTION_AFTER", 12):
            if not state.needs_attention:
                state.needs_attention, state.flagged_at = True, now
                logger.error("payment still open after the polling ceiling", extra={"payment": str(state.polled)})
        elif not still_open:
            state.needs_attention = False
        state.save()
    return str(after)
