"""Cancelling Pix payments (payments v4 §1.9): one payment (PATCH /pix/payments/{paymentId}) or every cancellable
payment of a consent (PATCH /pix/payments/consents/{consentId}). The request is recorded before the bank is asked
(payments.lifecycle.complete_cancel)."""

import datetime as dt

from django.db import transaction

from consents.errors import ConsentNotFound
from consents.models import PaymentConsent
from opusof import clock
from opusof.models import TppClient
from opusof.timeutil import end_of_business_day
from payments.errors import (
    CancellationNotAllowed,
    PaymentNotFound,
)
from payments.lifecycle import (
    complete_cancel,
    record_cancel_request,
)
from payments.models import (
    CANCELLABLE_STATUSES,
    CancellationReason,
    CancelledFrom,
    PaymentStatus,
    PixPayment,
)
from payments.services import PIX_PAYMENTS


def payment_cancel(
    *,
    payment_id: str,
    client: TppClient | None,
    cancelled_from: str,
    document: str,
    rel: str,
    actor: str,
) -> PixPayment:
    """Cancels one SCHD/PDNG payment (§1.9): SCHD until 23:59 Brasilia of the day before its date. The request is
    recorded before the bank is asked (payments.lifecycle.complete_cancel)."""
    with transaction.atomic():
        queryset = PixPayment.objects.visible().select_for_update(of=("self",)).select_related("consent")
        if client is not None:
            queryset = queryset.filter(client=client)
        try:
            payment = queryset.get(payment_id=payment_id)
        except PixPayment.DoesNotExist as exc:
            raise PaymentNotFound(f"Pagamento {payment_id} não encontrado.") from exc
        _record_cancel_request(payment, cancelled_from=cancelled_from, document=document, rel=rel, actor=actor)
    return _complete_cancel(payment_id)


def _record_cancel_request(payment: PixPayment, *, cancelled_from: str, document: str, rel: str, actor: str) -> None:
    if payment.status not in CANCELLABLE_STATUSES:
        raise CancellationNotAllowed(f"Pagamento em estado {payment.status} não permite cancelamento.")
    if payment.status == PaymentStatus.SCHD and not _before_cancel_deadline(payment):
        raise CancellationNotAllowed("Prazo para cancelamento do agendamento encerrado (23:59 do dia anterior).")
    reason = (
        CancellationReason.CANCELADO_AGENDAMENTO
        if payment.status == PaymentStatus.SCHD
        else CancellationReason.CANCELADO_PENDENCIA
    )
    record_cancel_request(
        payment, reason=reason, cancelled_from=cancelled_from, document=document, rel=rel, actor=actor
    )


def _complete_cancel(payment_id: str) -> PixPayment:
    outcome = complete_cancel(PIX_PAYMENTS, payment_id)
    if outcome.unavailable:
        raise CancellationNotAllowed("Detentora indisponível no momento; tente novamente.")
    if outcome.refusal is not None:
        raise CancellationNotAllowed(outcome.refusal)
    payment: PixPayment = outcome.payment
    return payment


def _before_cancel_deadline(payment: PixPayment) -> bool:
    if payment.scheduled_date is None:
        return True
    return clock.now() <= end_of_business_day(payment.scheduled_date - dt.timedelta(days=1))


def payments_cancel_for_consent(
    *, client: TppClient, consent_id: str, document: str, rel: str, actor: str
) -> list[PixPayment]:
    """PATCH /pix/payments/consents/{consentId}: cancels every SCHD/PDNG payment still cancellable. The requests
    are recorded together, then each is asked of the bank; one the bank refuses makes the answer 422, the ones it
    cancelled stay cancelled."""
    with transaction.atomic():
        if not PaymentConsent.objects.filter(client=client, consent_id=consent_id).exists():
            raise ConsentNotFound(f"Consentimento {consent_id} não encontrado.")
        candidates = list(
            PixPayment.objects.visible()
            .select_for_update(of=("self",))
            .select_related("consent")
            .filter(consent__consent_id=consent_id, client=client, status__in=CANCELLABLE_STATUSES)
            .order_by("scheduled_date")
        )
        cancellable = [p for p in candidates if p.status == PaymentStatus.PDNG or _before_cancel_deadline(p)]
        if not cancellable:
            raise CancellationNotAllowed("Nenhum pagamento do consentimento permite cancelamento.")
        for payment in cancellable:
            _record_cancel_request(
                payment, cancelled_from=CancelledFrom.INICIADORA, document=document, rel=rel, actor=actor
            )
    return [_complete_cancel(payment.payment_id) for payment in cancellable]
