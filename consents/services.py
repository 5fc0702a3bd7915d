"""Writes on payment consents. Every status change goes through ``opusof.transitions.transition``."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from connectors.interfaces import AccountRef, ConnectorUnavailable, ConsentInfo, PaymentData
from connectors.registry import payment_data_validator
from consents.errors import ConsentNotAuthorisable
from consents.expiry import lock_consent
from consents.models import (
    ConsentRejectionReason,
    ConsentStatus,
    ConsentStatusChange,
    PaymentConsent,
    consent_created_window,
    consumption_window,
)
from consents.validation import validate_consent_request
from opusof import clock
from opusof.models import TppClient
from opusof.ofb import account_from_wire
from opusof.timeutil import business_date, end_of_business_day
from opusof.transitions import insert_with_history, transition

# Payments v4 §5.2, stage "Autorização do cliente": the first present reason wins.
AUTHORISATION_PRIORITY = [
    ConsentRejectionReason.CONTA_NAO_PERMITE_PAGAMENTO,
    ConsentRejectionReason.CONTAS_ORIGEM_DESTINO_IGUAIS,
    ConsentRejectionReason.VALOR_INVALIDO,
    ConsentRejectionReason.QRCODE_INVALIDO,
    ConsentRejectionReason.VALOR_ACIMA_LIMITE,
    ConsentRejectionReason.SALDO_INSUFICIENTE,
    ConsentRejectionReason.FALHA_INFRAESTRUTURA,
    ConsentRejectionReason.NAO_INFORMADO,
]
# Bank validation codes that have no consent rejection reason of their own.
_BANK_CODE_TO_REASON = {"COBRANCA_INVALIDA": "QRCODE_INVALIDO"}
# DICT results (key unknown, key of another account) may only be acted on at payment creation (§1.1.2, §2.3).
_DICT_CODES = {"DETALHE_PAGAMENTO_INVALIDO"}


def consent_create(*, client: TppClient, data: dict[str, Any]) -> PaymentConsent:
    """POST /consents: validates the business rules and stores the consent AWAITING_AUTHORISATION."""
    now = clock.now()
    scheduled_dates = validate_consent_request(data, today=business_date(now))
    payment = data["payment"]
    details = payment["details"]
    creditor_account = details["creditorAccount"]
    consent = PaymentConsent(
        client=client,
        created_at=now,
        status_updated_at=now,
        expires_at=consent_created_window(now),
        logged_user_document=data["loggedUser"]["document"]["identification"],
        business_entity_document=(data.get("businessEntity") or {}).get("document", {}).get("identification", ""),
        creditor_document=data["creditor"]["cpfCnpj"],
        creditor_name=data["creditor"]["name"],
        amount=Decimal(payment["amount"]),
        currency=payment["currency"],
        local_instrument=details["localInstrument"],
        proxy=details.get("proxy", ""),
        qr_code=details.get("qrCode", ""),
        creditor_ispb=creditor_account["ispb"],
        creditor_issuer=creditor_account.get("issuer", ""),
        creditor_number=creditor_account["number"],
        creditor_account_type=creditor_account["accountType"],
        payment_date=dt.date.fromisoformat(payment["date"]) if payment.get("date") else None,
        schedule=payment.get("schedule"),
        scheduled_dates=[day.isoformat() for day in scheduled_dates],
        request_data=data,
    )
    if debtor := data.get("debtorAccount"):
        consent.set_debtor_account(account_from_wire(debtor))
    history = ConsentStatusChange(
        consent=consent, to_status=consent.status, actor=f"tpp:{client.client_id}", reason="created", created_at=now
    )
    # One statement on PostgreSQL (no savepoint inside the idempotency layer's transaction); two elsewhere.
    with transaction.atomic(savepoint=False):
        insert_with_history(consent, history)
    return consent


def consent_connector_info(consent: PaymentConsent) -> ConsentInfo:
    """The consent as the bank's connector routes name it (``consent.tpp``, ``externalId``, times)."""
    return ConsentInfo(
        consent_id=consent.consent_id,
        tpp_name=consent.client.name,
        created_at=consent.created_at,
        expires_at=consent.expires_at,
    )


def _payment_data(consent: PaymentConsent, debtor_account: AccountRef) -> PaymentData:
    first_date = dt.date.fromisoformat(consent.scheduled_dates[0]) if consent.scheduled_dates else None
    return PaymentData(
        amount=consent.amount,
        currency=consent.currency,
        local_instrument=consent.local_instrument,
        creditor_account=consent.creditor_account,
        creditor_document=consent.creditor_document,
        creditor_name=consent.creditor_name,
        customer_document=consent.logged_user_document,
        business_document=consent.business_entity_document or None,
        debtor_account=debtor_account,
        proxy=consent.proxy or None,
        qr_code=consent.qr_code or None,
        payment_date=first_date,
        consent=consent_connector_info(consent),
    )


def _approval_deadline(consent: PaymentConsent) -> dt.datetime:
    """Multi-approval deadline (payments v4 "Aprovações de múltipla alçada")."""
    if consent.scheduled_dates:
        first = dt.date.fromisoformat(consent.scheduled_dates[0])
        return end_of_business_day(first - dt.timedelta(days=1))
    return end_of_business_day(business_date(consent.created_at))


def consent_approvals_required(business_document: str) -> int:
    """Multi-approver business accounts (payments v4 "Aprovações de múltipla alçada"): how many people must approve,
    per CNPJ in settings.OPUSOF_BUSINESS_APPROVERS (a core-bank rule; none configured means one). Both journeys ask
    it: the redirect consent page and the FIDO authorisation without redirect (authorizeConsent)."""
    if not business_document:
        return 1
    approvers: dict[str, int] = getattr(settings, "OPUSOF_BUSINESS_APPROVERS", {})
    return max(1, int(approvers.get(business_document, 1)))


def consent_authorise(
    *, consent_id: str, debtor_account: AccountRef, actor: str, approvals_required: int = 1
) -> PaymentConsent:
    """The customer approved at the bank: checks the payment with the bank, then AUTHORISED, PARTIALLY_ACCEPTED
    (more approvers needed) or REJECTED with the reason the §5.2 priority table picks."""
    with transaction.atomic():
        consent = lock_consent(consent_id=consent_id)
        now = clock.now()
        if consent.status != ConsentStatus.AWAITING_AUTHORISATION:
            raise ConsentNotAuthorisable(f"Consentimento está {consent.status}.")
        if consent.debtor_account is not None and consent.debtor_account != debtor_account:
            # The TPP fixed the debtor account in the consent; the customer may not pick another.
            raise ConsentNotAuthorisable("A conta escolhida difere da conta de débito informada no consentimento.")
        try:
            result = payment_data_validator().validate_payment_data(_payment_data(consent, debtor_account))
            issues = [issue for issue in result.issues if issue.code not in _DICT_CODES]
            codes = {_BANK_CODE_TO_REASON.get(issue.code, issue.code) for issue in issues}
            details = {_BANK_CODE_TO_REASON.get(issue.code, issue.code): issue.detail for issue in issues}
        except ConnectorUnavailable as exc:
            codes, details = {ConsentRejectionReason.FALHA_INFRAESTRUTURA.value}, {"FALHA_INFRAESTRUTURA": str(exc)}
        if codes:
            reason = next((r for r in AUTHORISATION_PRIORITY if r in codes), ConsentRejectionReason.NAO_INFORMADO)
            detail = details.get(reason) or next(iter(details.values()), "") or reason.label
            transition(
                consent, lambda: consent.reject(reason=reason, detail=detail), actor=actor, reason=reason, now=now
            )
            return consent
        # Only an account the bank accepted becomes the consent's debtorAccount (its enum excludes e.g. SLRY).
        consent.set_debtor_account(debtor_account)
        if approvals_required > 1:
            consent.expires_at = _approval_deadline(consent)
            transition(
                consent,
                lambda: consent.accept_partially(pending_approvals=approvals_required - 1),
                actor=actor,
                reason=f"{approvals_required - 1} aprovação(ões) pendente(s)",
                now=now,
            )
        else:
            consent.expires_at = consumption_window(now)
            transition(consent, consent.authorise, actor=actor, now=now)
        return consent


def consent_approve(*, consent_id: str, actor: str) -> PaymentConsent:
    """One more approver of a PARTIALLY_ACCEPTED consent; the last one makes it AUTHORISED."""
    with transaction.atomic():
        consent = lock_consent(consent_id=consent_id)
        now = clock.now()
        if consent.status != ConsentStatus.PARTIALLY_ACCEPTED:
            raise ConsentNotAuthorisable(f"Consentimento está {consent.status}.")
        if consent.pending_approvals > 1:
            consent.pending_approvals -= 1
            consent.save(update_fields=["pending_approvals"])
            ConsentStatusChange.objects.create(
                consent=consent,
                from_status=consent.status,
                to_status=consent.status,
                actor=actor,
                reason=f"aprovação registrada; {consent.pending_approvals} pendente(s)",
                created_at=now,
            )
            return consent
        consent.expires_at = consumption_window(now)
        transition(consent, consent.authorise, actor=actor, now=now)
        return consent


def consent_reject(*, consent_id: str, reason: str, detail: str, actor: str) -> PaymentConsent:
    """The customer (REJEITADO_USUARIO) or the bank rejects a consent that is not final yet."""
    with transaction.atomic():
        consent = lock_consent(consent_id=consent_id)
        if consent.status in (ConsentStatus.CONSUMED, ConsentStatus.REJECTED):
            raise ConsentNotAuthorisable(f"Consentimento está {consent.status}.")
        transition(
            consent,
            lambda: consent.reject(reason=reason, detail=detail),
            actor=actor,
            reason=reason,
            now=clock.now(),
        )
        return consent


def consent_consume(consent: PaymentConsent, *, actor: str) -> None:
    """A payment was attempted with this AUTHORISED consent (§1.3); caller holds the row lock."""
    transition(consent, consent.consume, actor=actor, now=clock.now())
