"""Reads on recurring consents and payments, always scoped to the calling TPP."""

import datetime as dt

from django.db.models import Q, QuerySet

from opusof.models import TppClient
from recurring.errors import OtherClientsResource, RecurringConsentNotFound, RecurringPaymentNotFound
from recurring.models import RecurringConsent, RecurringPayment
from recurring.services import recurring_consent_refresh


def recurring_consent_get_for_client(*, client: TppClient, recurring_consent_id: str) -> RecurringConsent:
    """A TPP sees only its own consents; someone else's is indistinguishable from a missing one."""
    try:
        consent = RecurringConsent.objects.get(recurring_consent_id=recurring_consent_id, client=client)
    except RecurringConsent.DoesNotExist as exc:
        raise RecurringConsentNotFound(f"Consentimento {recurring_consent_id} não encontrado.") from exc
    return recurring_consent_refresh(consent=consent)


def recurring_payment_get_for_client(*, client: TppClient, recurring_payment_id: str) -> RecurringPayment:
    """ "a detentora deve validar que o pagamento consultado pertence ao ClientId que o criou e, caso haja
    divergências, retorne um erro HTTP 400" (Controle de acesso)."""
    payment = (
        RecurringPayment.objects.select_related("consent").filter(recurring_payment_id=recurring_payment_id).first()
    )
    if payment is None:
        raise RecurringPaymentNotFound(f"Pagamento {recurring_payment_id} não encontrado.")
    if payment.client_id != client.pk:
        raise OtherClientsResource("O pagamento não pertence a este cliente.")
    return payment


def recurring_payments_list_for_client(
    *,
    client: TppClient,
    recurring_consent_id: str,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    original_recurring_payment_id: str | None = None,
) -> QuerySet[RecurringPayment]:
    """GET /pix/recurring-payments: the consent's payments, optionally within [startDate, endDate] (settlement
    date) and/or one original payment with its retries."""
    consent = RecurringConsent.objects.filter(recurring_consent_id=recurring_consent_id).first()
    if consent is None:
        raise RecurringConsentNotFound(f"Consentimento {recurring_consent_id} não encontrado.")
    if consent.client_id != client.pk:
        raise OtherClientsResource("O consentimento não pertence a este cliente.")
    payments = consent.payments.select_related("consent")
    if start_date is not None:
        payments = payments.filter(date__gte=start_date)
    if end_date is not None:
        payments = payments.filter(date__lte=end_date)
    if original_recurring_payment_id:
        payments = payments.filter(
            Q(recurring_payment_id=original_recurring_payment_id)
            | Q(original_recurring_payment_id=original_recurring_payment_id)
        )
    return payments.order_by("date", "created_at")
