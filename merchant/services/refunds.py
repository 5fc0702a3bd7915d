"""Refunds of settled parcels: a Pix devolução sent by the merchant's own bank through the refund connector
(merchant/services/refund_bank.py), never through Open Finance.

Record before effect: a request's refunds are validated and committed together (each with the ``refund_id`` the
bank deduplicates on) before the bank is asked; the send runs after commit. An answer that never came (bank down,
lost reply, worker gone) leaves the refund CREATED: beat's ``merchant-resolve-refunds`` asks the bank for it and
sends it again, with the same id, only if the bank never received it.
"""

import datetime as dt
import logging
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from merchant.errors import IdempotencyConflict, NotFound, NotRefundable, RefundExceeded
from merchant.models import REFUND_OPEN, Merchant, Parcel, ParcelStatus, Plan, Refund, RefundStatus
from merchant.services.refund_bank import RefundAnswer, refund_bank
from merchant.services.webhooks import refund_webhook_record
from opusof import clock
from opusof.degrade import enqueue_after_commit
from opusof.transitions import transition

logger = logging.getLogger(__name__)

RESOLVER = "merchant-resolve-refunds"
# The bank's words (connectors.refunds.PixRefundStatus) in the domain's.
BANK_STATUS = {
    "EM_PROCESSAMENTO": RefundStatus.PROCESSING,
    "DEVOLVIDO": RefundStatus.REFUNDED,
    "NAO_REALIZADO": RefundStatus.REJECTED,
}
FIRST_POLL = dt.timedelta(seconds=30)  # the after-commit send normally answers first
MAX_POLL_SECONDS = 3600


@dataclass(frozen=True)
class RefundItem:
    """One refund as every dialect understands it once its body is parsed; ``field`` names it in that body."""

    end_to_end_id: str
    amount: Decimal
    description: str = ""
    field: str = ""


def _refund_id(now: dt.datetime) -> str:
    """D + our ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics: the shape of Efí's identificadorDevolucao, and an
    ``id`` the Pix API accepts ([a-zA-Z0-9]{1,35})."""
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return f"D{settings.OPUSOF_ISPB}{now.astimezone(dt.UTC):%Y%m%d%H%M}{suffix}"


def _replayed(merchant: Merchant, dialect: str, key: str, digest: str) -> list[Refund] | None:
    found = list(
        Refund.objects.select_related("parcel__plan")
        .filter(merchant=merchant, dialect=dialect, idempotency_key=key)
        .order_by("position")
    )
    if not found:
        return None
    if found[0].request_hash != digest:
        raise IdempotencyConflict("Chave de idempotência já usada com outro conteúdo.")
    return found


def _refunded(parcel: Parcel) -> Decimal:
    counted = parcel.refunds.exclude(status=RefundStatus.REJECTED)
    return counted.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def refunds_request(
    *,
    merchant: Merchant,
    dialect: str,
    idempotency_key: str,
    request_hash: str,
    items: Sequence[RefundItem],
    plan: Plan | None = None,
) -> list[Refund]:
    """Records the refunds of one request (all or none) and has the merchant's bank send them after commit. Each
    names a settled parcel of ``merchant`` in ``dialect`` (of ``plan`` when given); the refunds of a parcel, the
    bank's refusals aside, add up to at most its amount. The same key and body answer the same refunds."""
    replay = _replayed(merchant, dialect, idempotency_key, request_hash)
    if replay is not None:
        return replay
    if refund_bank() is None:
        raise NotRefundable("Devoluções indisponíveis: nenhum banco do recebedor configurado.")
    try:
        with transaction.atomic():
            refunds = _record(merchant, dialect, idempotency_key, request_hash, items, plan)
            from merchant.tasks import send_refund

            for refund in refunds:
                enqueue_after_commit(send_refund, str(refund.pk), recovered_by=RESOLVER)
    except IntegrityError:
        # A concurrent twin with the same key committed first.
        replay = _replayed(merchant, dialect, idempotency_key, request_hash)
        if replay is None:
            raise
        return replay
    return refunds


def _record(
    merchant: Merchant, dialect: str, key: str, digest: str, items: Sequence[RefundItem], plan: Plan | None
) -> list[Refund]:
    wanted = {item.end_to_end_id for item in items}
    scope = Q(plan=plan) if plan is not None else Q(plan__merchant=merchant, plan__dialect=dialect)
    # Locked in one statement, in key order: two requests refunding the same parcels check their remainder in turn.
    parcels = {
        p.end_to_end_id: p
        for p in Parcel.objects.select_for_update(of=("self",))
        .select_related("plan")
        .filter(scope, end_to_end_id__in=wanted)
        .order_by("pk")
    }
    # A concurrent twin with the same key that held these locks first has committed by now: its refunds answer.
    replay = _replayed(merchant, dialect, key, digest)
    if replay is not None:
        return replay
    now = clock.now()  # a record timestamp (the business clock); the poll's back-off stays on real time
    taken: dict[str, Decimal] = {}
    refunds = []
    for position, item in enumerate(items):
        parcel = parcels.get(item.end_to_end_id)
        if parcel is None:
            raise NotFound(f"Pagamento {item.end_to_end_id} não encontrado.", field=item.field)
        if parcel.status != ParcelStatus.ACSC:
            raise NotRefundable(
                f"Só uma parcela liquidada pode ser devolvida ({item.end_to_end_id}: {parcel.status}).",
                field=item.field,
            )
        if parcel.end_to_end_id not in taken:
            taken[parcel.end_to_end_id] = _refunded(parcel)
        remaining = parcel.amount - taken[parcel.end_to_end_id]
        if item.amount > remaining:
            raise RefundExceeded(
                f"Valor acima do que resta devolver de {item.end_to_end_id} ({remaining:.2f}).", field=item.field
            )
        taken[parcel.end_to_end_id] += item.amount
        refunds.append(
            Refund(
                merchant=merchant,
                parcel=parcel,
                dialect=dialect,
                idempotency_key=key,
                request_hash=digest,
                position=position,
                refund_id=_refund_id(now),
                amount=item.amount,
                description=item.description[:140],
                created_at=now,
                status_updated_at=now,
                next_poll_at=timezone.now() + FIRST_POLL,
            )
        )
    Refund.objects.bulk_create(refunds)
    return refunds


def refund_move(refund: Refund, status: str, *, actor: str, reason: str = "") -> None:
    """The one writer of a refund's status (history row + the merchant's webhook, in the caller's transaction)."""
    if refund.status == status or refund.status not in REFUND_OPEN:
        return
    if reason:
        refund.rejection_reason = reason[:2048]
    previous = refund.status
    transition(refund, lambda: refund.move(status=status), actor=actor, reason=reason)
    refund_webhook_record(refund=refund, previous=previous)


def _apply(refund: Refund, answer: RefundAnswer, *, actor: str) -> Refund:
    status = BANK_STATUS.get(str(answer.status))
    with transaction.atomic():
        locked = Refund.objects.select_for_update().select_related("parcel__plan__merchant").get(pk=refund.pk)
        if status is None:
            _postpone(locked, f"situação desconhecida do banco: {answer.status}")
            return locked
        if answer.return_id and not locked.return_id:
            locked.return_id = answer.return_id[:32]
            locked.save(update_fields=["return_id"])
        refund_move(locked, status, actor=actor, reason=answer.reason if status == RefundStatus.REJECTED else "")
        if locked.status == RefundStatus.PROCESSING:
            _postpone(locked, "")
    return locked


def _postpone(refund: Refund, error: str) -> None:
    """Next question to the bank, later each time (30 s doubling, at most an hour)."""
    attempts = refund.attempts + 1
    delay = min(MAX_POLL_SECONDS, FIRST_POLL.total_seconds() * 2 ** (attempts - 1))
    Refund.objects.filter(pk=refund.pk).update(
        attempts=attempts, last_error=error[:1024], next_poll_at=timezone.now() + dt.timedelta(seconds=delay)
    )
    refund.attempts = attempts


def refund_send(refund_pk: str) -> Refund:
    """Hands a recorded refund to the merchant's bank (the after-commit task). Whatever the bank did with a call
    that raised is unknown: the refund stays CREATED and the resolver asks."""
    refund = Refund.objects.select_related("parcel__plan__merchant").get(pk=refund_pk)
    if refund.status != RefundStatus.CREATED:
        return refund
    bank = refund_bank()
    if bank is None:
        _postpone(refund, "nenhum banco do recebedor configurado")
        return refund
    try:
        answer = bank.send_pix_refund(
            refund_id=refund.refund_id,
            end_to_end_id=refund.parcel.end_to_end_id,
            amount=refund.amount,
            description=refund.description,
        )
    except Exception as exc:  # any failure of a foreign connector is an unknown outcome, never a refusal
        logger.warning("refund %s: outcome unknown (%s)", refund.refund_id, exc, extra={"refundId": refund.refund_id})
        _postpone(refund, f"{type(exc).__name__}: {exc}")
        return refund
    return _apply(refund, answer, actor="bank:refund-send")


def refund_resolve(refund: Refund) -> Refund:
    """Asks the bank for an open refund: it takes the bank's answer, or sends it again (same id) when the bank
    never received it."""
    bank = refund_bank()
    if bank is None:
        _postpone(refund, "nenhum banco do recebedor configurado")
        return refund
    try:
        answer = bank.get_pix_refund(refund_id=refund.refund_id, end_to_end_id=refund.parcel.end_to_end_id)
    except Exception as exc:  # see refund_send
        _postpone(refund, f"{type(exc).__name__}: {exc}")
        return refund
    if answer is None:
        if refund.status != RefundStatus.CREATED:
            _postpone(refund, "o banco não encontrou a devolução em processamento")
            return refund
        return refund_send(str(refund.pk))
    return _apply(refund, answer, actor="bank:refund-poll")


def refunds_resolve_open(limit: int = 200) -> int:
    """Beat's door: every refund the bank has not finished whose next question is due."""
    due = list(
        Refund.objects.select_related("parcel__plan__merchant")
        .filter(status__in=REFUND_OPEN, next_poll_at__lte=timezone.now())
        .order_by("next_poll_at")[:limit]
    )
    for refund in due:
        refund_resolve(refund)
    return len(due)
