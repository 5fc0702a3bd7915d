"""Reads on recurring consents and payments: scoped by the TPP on the API, by the customer on the bank's pages."""

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from opusof import clock
from opusof.models import TppClient
from opusof.timeutil import business_tz
from recurring.errors import OtherClientsResource, RecurringConsentNotFound, RecurringPaymentNotFound
from recurring.models import Product, RecurringConsent, RecurringConsentStatus, RecurringPayment


def recurring_consent_get_for_client(*, client: TppClient, recurring_consent_id: str) -> RecurringConsent:
    """A TPP sees only its own consents; someone else's is indistinguishable from a missing one. As stored
    (``recurring.expiry.recurring_consent_refresh`` applies a due expiry)."""
    try:
        consent = RecurringConsent.objects.get(recurring_consent_id=recurring_consent_id, client=client)
    except RecurringConsent.DoesNotExist as exc:
        raise RecurringConsentNotFound(f"Consentimento {recurring_consent_id} não encontrado.") from exc
    return consent


def recurring_payment_get_for_client(*, client: TppClient, recurring_payment_id: str) -> RecurringPayment:
    """ "a detentora deve validar que o pagamento consultado pertence ao ClientId que o criou e, caso haja
    divergências, retorne um erro HTTP 400" (Controle de acesso)."""
    payment = (
        RecurringPayment.objects.visible()
        .select_related("consent")
        .filter(recurring_payment_id=recurring_payment_id)
        .first()
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
    payments = consent.payments.visible().select_related("consent")
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


# --- the bank's own pages (authorisation journey, consent management area) ------------------------------------------


def recurring_consent_get_for_customer(*, recurring_consent_id: str, customer_document: str) -> RecurringConsent:
    """The consent as its customer (the logged user it names) sees it on the bank's pages; anyone else gets
    not-found. As stored (``recurring.expiry.recurring_consent_refresh`` applies a due expiry)."""
    try:
        consent = RecurringConsent.objects.get(
            recurring_consent_id=recurring_consent_id, logged_user_document=customer_document
        )
    except RecurringConsent.DoesNotExist as exc:
        raise RecurringConsentNotFound(f"Consentimento {recurring_consent_id} não encontrado.") from exc
    return consent


def recurring_consents_for_customer(*, customer_document: str) -> QuerySet[RecurringConsent]:
    """The customer's consent management area: their consents, newest first (AUTHORISED ones may be revoked)."""
    return RecurringConsent.objects.filter(logged_user_document=customer_document).order_by("-created_at")


_INTERVALS = {
    "SEMANAL": "semanal",
    "MENSAL": "mensal",
    "TRIMESTRAL": "trimestral",
    "SEMESTRAL": "semestral",
    "ANUAL": "anual",
}
_PERIODS = {"day": "por dia", "week": "por semana", "month": "por mês", "year": "por ano"}


def recurring_consent_display(consent: RecurringConsent) -> dict[str, Any]:
    """What the customer pages show of a recurring consent: product, creditors, periodicity, limits, expiry
    (Brasília time). Plain values; the templates format them."""
    block = consent.settings
    limits: list[tuple[str, str]] = []
    if consent.product == Product.SWEEPING:
        if "transactionLimit" in block:
            limits.append(("Valor máximo por transferência", block["transactionLimit"]))
        if "totalAllowedAmount" in block:
            limits.append(("Valor total autorizado", block["totalAllowedAmount"]))
        for period, label in _PERIODS.items():
            periodic = (block.get("periodicLimits") or {}).get(period) or {}
            if "transactionLimit" in periodic:
                limits.append((f"Valor máximo {label}", periodic["transactionLimit"]))
            if "quantityLimit" in periodic:
                limits.append((f"Quantidade máxima {label}", str(periodic["quantityLimit"])))
    else:
        for name, label in (
            ("fixedAmount", "Valor fixo"),
            ("minimumVariableAmount", "Valor mínimo"),
            ("maximumVariableAmount", "Valor máximo"),
        ):
            if name in block:
                limits.append((label, block[name]))
    expires = consent.expires_at.astimezone(business_tz()) if consent.expires_at is not None else None
    return {
        "id": consent.recurring_consent_id,
        "status": consent.status,
        "product": "Pix Automático" if consent.product == Product.AUTOMATIC else "Transferências Inteligentes",
        "creditors": [(creditor["name"], creditor["cpfCnpj"]) for creditor in consent.creditors],
        "periodicity": _INTERVALS.get(block.get("interval", ""), ""),
        "contract": block.get("contractId", ""),
        "first_date": block.get("referenceStartDate", ""),
        "retries_accepted": bool(block.get("isRetryAccepted", False)),
        "limits": limits,
        "expires": expires,
        "may_revoke": consent.status == RecurringConsentStatus.AUTHORISED,
    }


def recurring_consent_token_horizon(consent: RecurringConsent) -> dt.datetime | None:
    """Until when tokens bound to the consent may be issued or refreshed: its expiry, None while indefinite
    ("A utilização das credenciais ... deve durar até que o consentimento recorrente atinja o fim do seu ciclo de
    vida"). The authorisation server still stops refreshing once the consent leaves AUTHORISED."""
    return consent.expires_at


def recurring_consents_awaiting_co_approval(*, customer_document: str, limit: int = 50) -> QuerySet[RecurringConsent]:
    """PARTIALLY_ACCEPTED business recurring consents the customer has not approved yet, still within
    approvalDueDate (automatic payments v2 "Aprovações de múltipla alçada"); whether they may approve for that
    business is the bank's account discovery to say."""
    return (
        RecurringConsent.objects.select_related("client")
        .filter(status=RecurringConsentStatus.PARTIALLY_ACCEPTED, authorisation_deadline__gte=clock.now())
        .exclude(business_entity_document="")
        .exclude(history__actor=f"customer:{customer_document}")
        .order_by("authorisation_deadline")[:limit]
    )


def recurring_business_consent_get(*, recurring_consent_id: str) -> RecurringConsent | None:
    """A business's recurring consent, for one of its co-approvers (who they are is the bank's to say)."""
    return (
        RecurringConsent.objects.filter(recurring_consent_id=recurring_consent_id)
        .exclude(business_entity_document="")
        .first()
    )
