"""Recurring payments (POST /pix/recurring-payments, §2.5) through the one Pix payment lifecycle
(``payments.lifecycle``): checked against the consent's limits and recorded under its row lock, handed to the bank
after the commit, polled until final.

Payment creation runs under the consent's row lock, so the limit arithmetic and the insert of the new payment are
one serial step per consent: concurrent charges never overshoot a limit."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from connectors.interfaces import (
    ConnectorUnavailable,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
)
from connectors.registry import account_discovery
from opusof import clock
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.models import TppClient
from opusof.ofb import account_from_wire
from opusof.timeutil import business_date
from payments.lifecycle import (
    PaymentKind,
    due_for_poll,
    end_to_end_ids_used,
    initiate,
    poll_with_backoff,
    resolve,
)
from payments.models import PaymentStatus
from recurring import errors
from recurring.checks import check_charge
from recurring.expiry import lock_recurring_consent
from recurring.models import (
    Product,
    RecurringConsent,
    RecurringConsentStatus,
    RecurringPayment,
    RecurringPaymentStatusChange,
)
from recurring.services.consents import recurring_consent_connector_info

_PAYMENT_ID_NAMESPACE = uuid.UUID("2b0c7c8e-8f43-4a55-9d0e-6a1f3f2e7b21")


def _payment_data(payment: RecurringPayment, consent: RecurringConsent) -> PaymentData:
    creditor = next((c for c in consent.creditors if c["cpfCnpj"] == payment.document_identification), None)
    return PaymentData(
        amount=payment.amount,
        currency=payment.currency,
        local_instrument=payment.local_instrument,
        creditor_account=payment.creditor_account,
        creditor_document=payment.document_identification,
        creditor_name=creditor["name"] if creditor else "",
        customer_document=consent.logged_user_document,
        business_document=consent.business_entity_document or None,
        debtor_account=payment.debtor_account,
        proxy=payment.proxy or None,
        transaction_identification=payment.transaction_identification or None,
        payment_date=payment.date,
        consent=recurring_consent_connector_info(consent),
        cnpj_initiator=payment.cnpj_initiator or None,
    )


def _consent_refusal(consent: RecurringConsent) -> RegulatedError | None:
    if consent.status == RecurringConsentStatus.PARTIALLY_ACCEPTED:
        return errors.ConsentPendingAuthorisation("Consentimento aguardando aprovação de múltiplas alçadas.")
    if consent.status != RecurringConsentStatus.AUTHORISED:
        return errors.ConsentInvalid(f"Consentimento em estado {consent.status}.")
    return None


def _sweeping_destination_owned(*, client: TppClient, recurring_consent_id: str, data: dict[str, Any]) -> bool:
    """Sweeping moves money between the same holder's accounts. A destination here, at this bank, must be one of
    the receiver's own accounts (the receiver is a consent creditor: the customer, or the business's CNPJ root);
    elsewhere only the receiving PSP (or the DICT, for DICT/INIC) can tell. Asked of the bank before the consent's
    row lock is taken (a remote read); the checks under the lock use the answer."""
    consent = RecurringConsent.objects.filter(recurring_consent_id=recurring_consent_id, client=client).first()
    creditor = account_from_wire(data["creditorAccount"])
    if consent is None or consent.product != Product.SWEEPING or creditor.ispb != str(settings.OPUSOF_ISPB):
        return True
    document = data["document"]["identification"]
    try:
        accounts = account_discovery().discover_accounts(
            customer_document=consent.logged_user_document,
            business_document=document if len(document) == 14 else None,
        )
    except ConnectorUnavailable:
        return True  # the bank re-checks the accounts at initiation; an outage here is not the TPP's fault
    return any(found.account == creditor for found in accounts)


def recurring_payment_id_for(recurring_consent_id: str, end_to_end_id: str) -> str:
    """Deterministic (as payments v4's payment_id_for): a request retried after a crash between the bank's answer
    and our commit asks the bank again with the same idempotency key and is never paid twice."""
    return str(uuid.uuid5(_PAYMENT_ID_NAMESPACE, f"{recurring_consent_id}|{end_to_end_id}"))


def _build_payment(
    consent: RecurringConsent, data: dict[str, Any], *, amount: Decimal, day: dt.date
) -> RecurringPayment:
    now = clock.now()
    debtor = consent.debtor_account
    assert debtor is not None  # an AUTHORISED consent always has the account the customer chose
    return RecurringPayment(
        recurring_payment_id=recurring_payment_id_for(consent.recurring_consent_id, data["endToEndId"]),
        consent=consent,
        client_id=consent.client_id,
        created_at=now,
        status_updated_at=now,
        date=day,
        amount=amount,
        document_identification=data["document"]["identification"],
        document_rel=data["document"]["rel"],
        payment_reference=data.get("paymentReference", ""),
        original_recurring_payment_id=data.get("originalRecurringPaymentId", ""),
        risk_signals=data.get("riskSignals"),
        **RecurringPayment.request_columns(data, debtor=debtor),
    )


def _initiation(payment: RecurringPayment) -> PaymentInitiation:
    return PaymentInitiation(
        payment_id=payment.recurring_payment_id,
        end_to_end_id=payment.end_to_end_id,
        idempotency_key=payment.recurring_payment_id,
        data=_payment_data(payment, payment.consent),
        remittance_information=payment.remittance_information or None,
        original_recurring_payment_id=payment.original_recurring_payment_id or None,
        payment_reference=payment.payment_reference or None,
        authorisation_flow=payment.authorisation_flow or None,
        ibge_town_code=payment.ibge_town_code or None,
    )


# Automatic payments v2 through the one Pix payment lifecycle; the bank deduplicates on the recurring payment id.
RECURRING_PAYMENTS = PaymentKind(
    model=RecurringPayment,
    id_field="recurring_payment_id",
    date_field="date",
    poll_state_field="recurring_payment",
    initiation=_initiation,
    context=lambda payment, cancelled_by: PaymentContext(
        _payment_data(payment, payment.consent), cancelled_by=cancelled_by
    ),
)


def recurring_payment_create(
    *, client: TppClient, recurring_consent_id: str, data: dict[str, Any], request_key: str = ""
) -> RecurringPayment:
    """POST /pix/recurring-payments (§2.5), record before effect (docs/money-safety.md): the payment is checked
    against the consent and every limit it carries and recorded RCVD, with the key the bank deduplicates on, under
    the consent's row lock, and committed; then it is handed to the bank with no transaction open and the answer
    applied. A synchronous bank refusal is the 422 of its code and shows no payment (the row is kept, hidden); the
    consent is not consumed (it is long-lived). A retry of the same request after a crash resumes its payment."""
    destination_owned = _sweeping_destination_owned(client=client, recurring_consent_id=recurring_consent_id, data=data)
    with transaction.atomic():
        try:
            consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        except errors.RecurringConsentNotFound as exc:
            raise errors.ConsentInvalid("Consentimento do token não encontrado para este cliente.") from exc
        payment = _recorded_by(consent, data, client=client, request_key=request_key)
        resumed = payment is not None
        refusal = None if resumed else _consent_refusal(consent)
        if payment is None and refusal is None:
            payment = _record_locked(
                consent,
                data,
                actor=f"tpp:{client.client_id}",
                request_key=request_key,
                destination_owned=destination_owned,
            )
    if refusal is not None:
        raise refusal  # raised after the block, so an expiry found by the lock is kept
    assert payment is not None
    if resumed:
        if payment.refused_at_creation:
            raise _bank_refusal(payment.rejection_reason, payment.rejection_detail)
        if payment.status != PaymentStatus.RCVD:
            return payment
        resolved: RecurringPayment = resolve(RECURRING_PAYMENTS, payment.recurring_payment_id, actor="system:bank")
        return resolved
    outcome = initiate(RECURRING_PAYMENTS, payment, hide_refusal=True, actor="system:bank")
    if outcome.refusal is not None:
        raise _bank_refusal(outcome.refusal.code, outcome.refusal.detail)
    initiated: RecurringPayment = outcome.payment
    return initiated


def _bank_refusal(code: str, detail: str) -> RegulatedError:
    return errors.BANK_REFUSALS.get(code, errors.RefusedByHolder)(detail or code)


def _recorded_by(
    consent: RecurringConsent, data: dict[str, Any], *, client: TppClient, request_key: str
) -> RecurringPayment | None:
    """The payment a first attempt of this very request (same x-idempotency-key) recorded."""
    if not request_key:
        return None
    payment_id = recurring_payment_id_for(consent.recurring_consent_id, str(data.get("endToEndId", "")))
    return (
        RecurringPayment.objects.select_related("consent")
        .filter(recurring_payment_id=payment_id, client=client, request_key=request_key)
        .first()
    )


def _record_locked(
    consent: RecurringConsent, data: dict[str, Any], *, actor: str, request_key: str, destination_owned: bool
) -> RecurringPayment:
    """The checks and the record of recurring_payment_create; the caller holds the consent's row lock."""
    end_to_end_id = data["endToEndId"]
    if end_to_end_ids_used([end_to_end_id]):
        # An endToEndId names one Pix (the bank would pay it again): PARAMETRO_INVALIDO, checked under the consent
        # lock so two requests of one consent cannot both pass it (docs/money-safety.md).
        raise ParameterInvalid("endToEndId já utilizado.")
    today = business_date()
    day = dt.date.fromisoformat(data["date"])
    amount = Decimal(data["payment"]["amount"])
    if amount <= 0:
        raise errors.InvalidAmount("Valor do pagamento deve ser positivo.")
    check_charge(consent, data, amount, day=day, today=today, destination_owned=destination_owned)
    payment = _build_payment(consent, data, amount=amount, day=day)
    payment.request_key = request_key
    payment.bank_requested_at = payment.created_at
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError as exc:
        # Another consent's request with the same endToEndId won the race to the unique index; no bank call yet.
        raise ParameterInvalid("endToEndId já utilizado.") from exc
    RecurringPaymentStatusChange.objects.create(
        payment=payment, to_status=payment.status, actor=actor, reason="created", created_at=payment.created_at
    )
    return payment


def recurring_payments_due_for_poll(*, limit: int = 500) -> list[str]:
    """Recurring payments to ask the bank about whose next poll is due (payments.lifecycle.due_for_poll: open at the
    bank, stranded RCVD, cancellations not confirmed, and SCHD once its date has come)."""
    return due_for_poll(RECURRING_PAYMENTS, schedules=True, limit=limit)


def recurring_payment_poll_with_backoff(*, recurring_payment_id: str) -> str | None:
    """The one polling machinery (backoff, ceiling, staff flag) for a recurring payment."""
    return poll_with_backoff(RECURRING_PAYMENTS, recurring_payment_id)


def recurring_payment_poll_status(*, recurring_payment_id: str) -> RecurringPayment:
    """Asks the bank about a payment it holds open or whose answer was lost (payments.lifecycle.resolve)."""
    payment: RecurringPayment = resolve(RECURRING_PAYMENTS, recurring_payment_id, actor="system:poll")
    return payment
