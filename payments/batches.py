"""The worker's half of a POST /pix/payments answered RCVD (payments v4 §4.2, multi-item schedules), record before
effect (docs/money-safety.md): the rows are marked handed to the bank and committed before the bank is asked, and
the answers applied in a second transaction; rows already handed over are the poll's (payments.lifecycle.resolve)."""

import datetime as dt
from collections.abc import Callable

from django.db import transaction

from connectors.interfaces import (
    BankPaymentStatus,
    ConnectorOutcomeUnknown,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentStatusResult,
)
from connectors.registry import payment_canceller, payment_initiator, payment_status_reader
from opusof import clock
from opusof.transitions import transition
from payments.lifecycle import apply_bank_status, fault_point, flag_for_staff, initiate, reject
from payments.models import PaymentRejectionReason, PaymentStatus, PixPayment
from payments.services import PIX_PAYMENTS, dict_check_is_async, payment_connector_context, payment_dict_refusal

_UNCONFIRMED_CANCEL = "agendamento rejeitado sem cancelamento confirmado pela detentora"
# The multi-item schedule answer is asynchronous; all items must reach SCHD within 60 minutes (v4 recurring rules).
BATCH_SCHEDULING_WINDOW = dt.timedelta(minutes=60)


def _hand_over(batch_id: str, select: Callable[[list[PixPayment]], list[PixPayment]]) -> list[PixPayment]:
    """Marks the batch's RCVD rows ``select`` picks as handed to the bank, under their row locks, and commits: a
    second worker on the same batch finds nothing left to hand over."""
    with transaction.atomic():
        locked = list(
            PixPayment.objects.select_for_update(of=("self",))
            .select_related("consent")
            .filter(batch_id=batch_id, status=PaymentStatus.RCVD, bank_requested_at__isnull=True)
            .order_by("scheduled_date")
        )
        chosen = select(locked)
        now = clock.now()
        for payment in chosen:
            payment.bank_requested_at = now
            payment.save(update_fields=["bank_requested_at"])
        return chosen


def _reject_unsent(batch_id: str, *, code: str, detail: str, actor: str) -> None:
    """RJCT for the batch's RCVD rows never handed to the bank (nothing to ask the bank about)."""
    with transaction.atomic():
        for payment in PixPayment.objects.select_for_update(of=("self",)).filter(
            batch_id=batch_id, status=PaymentStatus.RCVD, bank_requested_at__isnull=True
        ):
            reject(payment, code=code, detail=detail, actor=actor)


def payment_batch_submit(*, batch_id: str) -> list[PixPayment]:
    """The worker's half of a POST answered RCVD, record before effect. An immediate payment gets its DICT check and
    goes to the bank (§4.2). A multi-item schedule is scheduled occurrence by occurrence; if one fails, all are RJCT
    with FALHA_AGENDAMENTO_PAGAMENTOS and the ones already scheduled are cancelled at the bank (v4 recurring rules).
    Rows are marked handed to the bank (and committed) before the bank is asked; rows already handed over are the
    poll's (payments.lifecycle.resolve asks the bank about them)."""
    pending = list(
        PixPayment.objects.select_related("consent")
        .filter(batch_id=batch_id, status=PaymentStatus.RCVD, bank_requested_at__isnull=True)
        .order_by("scheduled_date")
    )
    if pending:
        first = pending[0]
        refusal = payment_dict_refusal(first, first.consent) if first.proxy and dict_check_is_async() else None
        if refusal is not None:
            _reject_unsent(batch_id, code=refusal.code, detail=refusal.detail, actor="system:dict")
        elif first.scheduled_date is None:
            for payment in _hand_over(batch_id, lambda rows: rows[:1]):
                initiate(PIX_PAYMENTS, payment, hide_refusal=False, actor="system:bank")
        elif clock.now() - first.created_at > BATCH_SCHEDULING_WINDOW:
            _reject_unsent(
                batch_id,
                code=PaymentRejectionReason.FALHA_AGENDAMENTO_PAGAMENTOS,
                detail="Falha ao agendar os pagamentos: prazo de 60 minutos para agendamento excedido",
                actor="system:scheduler",
            )
        else:
            _schedule(_hand_over(batch_id, lambda rows: rows))
    return list(PixPayment.objects.select_related("consent").filter(batch_id=batch_id).order_by("scheduled_date"))


def _schedule(batch: list[PixPayment]) -> None:
    """Schedules each occurrence at the bank (no transaction open), then applies the answers together. One failure
    rejects every occurrence; the ones the bank may hold (scheduled, or the failing one if its answer was lost or
    was not SCHD) are cancelled at the bank first, and one whose cancellation the bank does not confirm is flagged
    for staff: the bank may still pay it on its date."""
    results: list[tuple[PixPayment, PaymentStatusResult]] = []
    failure = ""
    maybe_at_bank: list[PixPayment] = []
    for payment in batch:
        try:
            result = payment_initiator().initiate_payment(PIX_PAYMENTS.initiation(payment))
        except (ConnectorRejected, ConnectorUnavailable) as exc:
            failure = str(exc)
            if isinstance(exc, ConnectorOutcomeUnknown):
                maybe_at_bank.append(payment)
            break
        if result.status != BankPaymentStatus.SCHD:
            failure = f"{payment.payment_id}: {result.status} {result.rejection_code or ''}".strip()
            maybe_at_bank.append(payment)
            break
        results.append((payment, result))
    fault_point("after-bank-answer")
    if not failure:
        with transaction.atomic():
            for payment, result in results:
                locked = PIX_PAYMENTS.get(payment.payment_id, lock=True)
                if locked.status == PaymentStatus.RCVD:
                    apply_bank_status(locked, result, actor="system:bank")
        return
    maybe_at_bank[:0] = [payment for payment, _ in results]
    unconfirmed = [payment for payment in maybe_at_bank if not _cancelled_at_bank(payment)]
    with transaction.atomic():
        for payment in batch:
            locked = PIX_PAYMENTS.get(payment.payment_id, lock=True)
            if locked.status == PaymentStatus.RCVD:
                _reject_batch_item(locked, failure)
        for payment in unconfirmed:
            flag_for_staff(
                PIX_PAYMENTS, payment, reason="agendamento rejeitado sem cancelamento confirmado na detentora"
            )


def _cancelled_at_bank(payment: PixPayment) -> bool:
    """Whether the bank no longer holds the payment open after we asked it to cancel it."""
    context = payment_connector_context(payment)
    try:
        payment_canceller().cancel_payment(
            payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id, context=context
        )
        return True
    except ConnectorUnavailable:
        return False
    except ConnectorRejected:
        pass
    try:
        status = (
            payment_status_reader()
            .get_payment_status(payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id, context=context)
            .status
        )
    except ConnectorRejected:
        return True  # the bank does not know it
    except ConnectorUnavailable:
        return False
    return status in (BankPaymentStatus.CANC, BankPaymentStatus.RJCT)


def _reject_batch_item(payment: PixPayment, detail: str) -> None:
    transition(
        payment,
        lambda: payment.reject(
            reason=PaymentRejectionReason.FALHA_AGENDAMENTO_PAGAMENTOS,
            detail=f"Falha ao agendar os pagamentos: {detail}"[:2048],
        ),
        actor="system:scheduler",
        reason=PaymentRejectionReason.FALHA_AGENDAMENTO_PAGAMENTOS,
    )


def payment_refresh(*, payment: PixPayment) -> PixPayment:
    """Safety net on read: a batch still RCVD past its 60-minute window is rejected (the worker normally acts)."""
    if (
        payment.status != PaymentStatus.RCVD
        or payment.scheduled_date is None
        or payment.bank_requested_at is not None
        or clock.now() - payment.created_at <= BATCH_SCHEDULING_WINDOW
    ):
        return payment
    payment_batch_submit(batch_id=str(payment.batch_id))
    payment.refresh_from_db()
    return payment


# A batch the worker has not handed to the bank after this long is resubmitted by the sweep (its task may be lost).
BATCH_RESUBMIT_AFTER = dt.timedelta(minutes=2)


def payment_batches_stalled() -> list[str]:
    """Batches with rows still RCVD and never handed to the bank after BATCH_RESUBMIT_AFTER: resubmitted, or
    rejected past their 60-minute window."""
    cutoff = clock.now() - BATCH_RESUBMIT_AFTER
    batches = PixPayment.objects.filter(
        status=PaymentStatus.RCVD, bank_requested_at__isnull=True, created_at__lt=cutoff
    ).values_list("batch_id", flat=True)
    return [str(batch) for batch in batches.order_by().distinct()]
