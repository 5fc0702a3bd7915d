"""Cancelling a recurring payment: by the TPP or the customer within its deadline (PATCH /pix/recurring-payments),
or by the holder when the consent no longer covers it (a withdrawal)."""

import datetime as dt

from django.db import transaction

from opusof import clock
from opusof.models import TppClient
from opusof.timeutil import business_tz, end_of_business_day
from payments.lifecycle import (
    complete_cancel,
    record_cancel_request,
)
from payments.models import CANCELLABLE_STATUSES, PaymentStatus
from recurring import errors
from recurring.models import (
    Channel,
    Product,
    RecurringCancellationReason,
    RecurringConsent,
    RecurringPayment,
)
from recurring.services.charges import RECURRING_PAYMENTS

# Cancellation deadlines of Pix Automático (PATCH /pix/recurring-payments description): receiver until 22:00, payer
# until 23:59, Brasília time, of the day before the settlement date.
RECEIVER_CANCEL_TIME = dt.time(22, 0)


def _cancel_reason(payment: RecurringPayment) -> str:
    return (
        RecurringCancellationReason.CANCELADO_AGENDAMENTO
        if payment.status == PaymentStatus.SCHD
        else RecurringCancellationReason.CANCELADO_PENDENCIA
    )


def record_withdrawal(
    payment: RecurringPayment, consent: RecurringConsent, *, code: str, detail: str, actor: str
) -> None:
    """A scheduled charge the consent no longer covers (revoked, or expiry moved before it): its cancellation by
    the holder is recorded with the consent change (the caller's transaction), and asked of the bank after the
    commit (``withdraw_recorded``). If the bank will not cancel it, the charge is recorded RJCT with ``code``
    (CONSENTIMENTO_REVOGADO / FORA_PRAZO_PERMITIDO); a final status is never polled again."""
    document = consent.business_entity_document or consent.logged_user_document
    record_cancel_request(
        payment,
        reason=_cancel_reason(payment),
        cancelled_from=Channel.DETENTORA,
        document=document,
        rel="CNPJ" if consent.business_entity_document else "CPF",
        actor=actor,
        reject_code=code,
        reject_detail=detail,
    )


def withdraw_recorded(payment_ids: list[str]) -> None:
    for payment_id in payment_ids:
        complete_cancel(RECURRING_PAYMENTS, payment_id)


def cancellation_deadline(payment: RecurringPayment, *, by_receiver: bool) -> dt.datetime:
    """Last instant the cancellation may be asked: the day before the settlement date, 22:00 Brasília for the
    receiver of a Pix Automático charge, 23:59 otherwise (PATCH /pix/recurring-payments)."""
    eve = payment.date - dt.timedelta(days=1)
    if by_receiver and payment.consent.product == Product.AUTOMATIC:
        return dt.datetime.combine(eve, RECEIVER_CANCEL_TIME, tzinfo=business_tz())
    return end_of_business_day(eve)


def recurring_payment_cancel(
    *,
    recurring_payment_id: str,
    client: TppClient | None,
    cancelled_from: str,
    document: str,
    rel: str,
    actor: str,
) -> RecurringPayment:
    """Cancels a SCHD/PDNG recurring payment within its deadline (CANCELAMENTO_FORA_PERIODO_PERMITIDO after it).
    The canceller is the receiver when ``document`` is one of the consent's creditors, the payer otherwise; the
    payer may not cancel a retry (§ "Sobre o cancelamento de novas tentativas"). The request is recorded before the
    bank is asked (payments.lifecycle.complete_cancel)."""
    with transaction.atomic():
        try:
            payment = (
                RecurringPayment.objects.visible()
                .select_for_update(of=("self",))
                .select_related("consent")
                .get(recurring_payment_id=recurring_payment_id)
            )
        except RecurringPayment.DoesNotExist as exc:
            raise errors.RecurringPaymentNotFound(f"Pagamento {recurring_payment_id} não encontrado.") from exc
        if client is not None and payment.client_id != client.pk:
            raise errors.OtherClientsResource("O pagamento não pertence a este cliente.")
        if payment.status not in CANCELLABLE_STATUSES:
            raise errors.CancellationNotAllowed(f"Pagamento em estado {payment.status} não permite cancelamento.")
        by_receiver = document in payment.consent.creditor_documents
        if payment.is_retry and not by_receiver and payment.consent.product == Product.AUTOMATIC:
            raise errors.CancellationNotAllowed("O pagador não pode cancelar uma nova tentativa de pagamento.")
        if payment.status == PaymentStatus.SCHD and clock.now() > cancellation_deadline(
            payment, by_receiver=by_receiver
        ):
            raise errors.CancellationOutsideWindow("Prazo para cancelamento encerrado.")
        record_cancel_request(
            payment,
            reason=_cancel_reason(payment),
            cancelled_from=cancelled_from,
            document=document,
            rel=rel,
            actor=actor,
        )
    outcome = complete_cancel(RECURRING_PAYMENTS, recurring_payment_id)
    if outcome.unavailable:
        raise errors.CancellationNotAllowed("Detentora indisponível no momento; tente novamente.")
    if outcome.refusal is not None:
        raise errors.CancellationNotAllowed(outcome.refusal)
    cancelled: RecurringPayment = outcome.payment
    return cancelled
