"""Writes on Pix payments (payments v4): creation (with a redirect consent or an enrollment's token) and polling.
Every status change goes through ``opusof.transitions.transition``; every instruction to the bank goes through
payments.lifecycle, record before effect (docs/money-safety.md). Cancellation is ``payments.cancellation``."""

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from connectors.interfaces import (
    ConnectorUnavailable,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
)
from connectors.registry import payment_data_validator
from consents.errors import ConsentNotFound
from consents.expiry import lock_consent
from consents.models import ConsentStatus, PaymentConsent
from consents.services import consent_connector_info, consent_consume
from enrollments.payment_limits import enrollment_limit_problem, enrollment_lock_for_payment
from opusof import clock
from opusof.degrade import enqueue_after_commit
from opusof.errors import ParameterInvalid, ParameterMissing, RegulatedError
from opusof.models import TppClient
from opusof.timeutil import business_date
from opusof.transitions import insert_with_history
from payments.checks import check_items
from payments.errors import (
    BANK_REFUSALS,
    AboveLimit,
    ConsentInvalid,
    ConsentPendingAuthorisation,
    NotInformed,
    PaymentDetailInvalid,
    RefusedByHolder,
)
from payments.lifecycle import (
    PaymentKind,
    due_for_poll,
    end_to_end_ids_used,
    initiate,
    resolve,
)
from payments.models import (
    AuthorisationFlow,
    PaymentStatus,
    PaymentStatusChange,
    PixPayment,
)

_PAYMENT_ID_NAMESPACE = uuid.UUID("6f1c1d2e-4f0a-4d5e-9a43-0b7c2f1e9d10")
# DICT refusals (§2.3 when synchronous, §4.2 when asynchronous): invalid data or suspected fraud.
_DICT_REFUSALS: dict[str, type[RegulatedError]] = {
    "DETALHE_PAGAMENTO_INVALIDO": PaymentDetailInvalid,
    "NAO_INFORMADO": NotInformed,
}


def _payment_data(payment: PixPayment, consent: PaymentConsent) -> PaymentData:
    return PaymentData(
        amount=payment.amount,
        currency=payment.currency,
        local_instrument=payment.local_instrument,
        creditor_account=payment.creditor_account,
        creditor_document=consent.creditor_document,
        creditor_name=consent.creditor_name,
        customer_document=consent.logged_user_document,
        business_document=consent.business_entity_document or None,
        debtor_account=payment.debtor_account,
        proxy=payment.proxy or None,
        qr_code=payment.qr_code or None,
        transaction_identification=payment.transaction_identification or None,
        payment_date=payment.scheduled_date,
        consent=consent_connector_info(consent),
        cnpj_initiator=payment.cnpj_initiator or None,
    )


def payment_connector_context(payment: PixPayment, *, cancelled_by: str | None = None) -> PaymentContext:
    """The payment and its consent as the connector's status and cancel routes name them."""
    return PaymentContext(_payment_data(payment, payment.consent), cancelled_by=cancelled_by)


def _initiation(payment: PixPayment) -> PaymentInitiation:
    return PaymentInitiation(
        payment_id=payment.payment_id,
        end_to_end_id=payment.end_to_end_id,
        idempotency_key=payment.payment_id,
        data=_payment_data(payment, payment.consent),
        remittance_information=payment.remittance_information or None,
    )


# payments v4 through the one Pix payment lifecycle; the bank deduplicates on the payment id.
PIX_PAYMENTS = PaymentKind(
    model=PixPayment,
    id_field="payment_id",
    date_field="scheduled_date",
    poll_state_field="payment",
    initiation=_initiation,
    context=lambda payment, cancelled_by: payment_connector_context(payment, cancelled_by=cancelled_by),
)


def payment_id_for(consent_id: str, end_to_end_id: str) -> str:
    """Deterministic, so a request retried after a crash between the bank's answer and our commit finds the row it
    recorded and asks the bank again with the same idempotency key (the payment id): never paid twice."""
    return str(uuid.uuid5(_PAYMENT_ID_NAMESPACE, f"{consent_id}|{end_to_end_id}"))


def _build_payment(
    item: dict[str, Any],
    *,
    consent: PaymentConsent,
    batch_id: uuid.UUID,
    scheduled_date: dt.date | None,
    request_key: str,
) -> PixPayment:
    now = clock.now()
    debtor = consent.debtor_account
    assert debtor is not None  # an AUTHORISED consent always has the account the customer chose
    return PixPayment(
        payment_id=payment_id_for(consent.consent_id, item["endToEndId"]),
        consent=consent,
        client_id=consent.client_id,
        batch_id=batch_id,
        created_at=now,
        status_updated_at=now,
        scheduled_date=scheduled_date,
        amount=Decimal(item["payment"]["amount"]),
        qr_code=item.get("qrCode", ""),
        request_key=request_key,
        **PixPayment.request_columns(item, debtor=debtor),
    )


def _consent_refusal(consent: PaymentConsent) -> RegulatedError | None:
    if consent.status == ConsentStatus.PARTIALLY_ACCEPTED:
        # §2.2.2.11: answered without consuming or invalidating the consent.
        return ConsentPendingAuthorisation("Consentimento aguardando aprovação de múltiplas alçadas.")
    if consent.status != ConsentStatus.AUTHORISED:
        return ConsentInvalid(f"Consentimento em estado {consent.status}.")
    return None


SettlementCheck = Callable[[PixPayment], RegulatedError | None]


def payment_create(
    *,
    client: TppClient,
    consent_id: str,
    items: list[dict[str, Any]],
    request_key: str = "",
    lock_settlement_check: Callable[[], SettlementCheck] | None = None,
) -> list[PixPayment]:
    """POST /pix/payments (§2), record before effect (docs/money-safety.md). First transaction, under the consent's
    row lock: every check that needs no bank, the payments recorded RCVD with the key the bank deduplicates on and
    the request's ``x-idempotency-key``, the consent consumed. Then, with no transaction open, an immediate payment
    is handed to the bank (payments.lifecycle.initiate) and its answer applied; a multi-item schedule or a payment
    whose DICT check is asynchronous goes to the worker (answered RCVD). Errors before the bank leave the consent
    untouched; a DICT or bank refusal consumes it and shows no payment (§2.3, §2.2.2). A retry of the same request
    after a crash resumes the payments it recorded. ``lock_settlement_check`` takes, first in the transaction, the
    lock that serialises a settlement limit and returns the check refusing a payment as the bank would at its
    settlement, consuming the consent (the enrollment's limits of the FIDO flow)."""
    actor = f"tpp:{client.client_id}"
    dict_refusal = _dict_precheck(client=client, consent_id=consent_id, items=items)
    refusal: RegulatedError | None = None
    with transaction.atomic():
        settlement_check = lock_settlement_check() if lock_settlement_check is not None else None
        try:
            consent = lock_consent(consent_id=consent_id, client=client)
        except ConsentNotFound as exc:
            raise ConsentInvalid(f"Consentimento {consent_id} não encontrado para este cliente.") from exc
        payments = _recorded_by(consent, items, client=client, request_key=request_key)
        resumed = bool(payments)
        if not resumed:
            # Raised after the block so that an expiry found by lock_consent is kept.
            refusal = _consent_refusal(consent)
            if refusal is None:
                payments, refusal = _record(
                    consent,
                    items,
                    request_key=request_key,
                    dict_refusal=dict_refusal,
                    settlement_check=settlement_check,
                    actor=actor,
                )
    if refusal is not None:
        raise refusal
    return _hand_to_bank(payments, resumed=resumed)


def _recorded_by(
    consent: PaymentConsent, items: list[dict[str, Any]], *, client: TppClient, request_key: str
) -> list[PixPayment]:
    """The payments a first attempt of this very request (same x-idempotency-key) recorded, in the items' order."""
    if not request_key:
        return []
    ids = [payment_id_for(consent.consent_id, str(item.get("endToEndId", ""))) for item in items]
    found = {
        payment.payment_id: payment
        for payment in PixPayment.objects.select_related("consent").filter(
            payment_id__in=ids, client=client, request_key=request_key
        )
    }
    return [found[payment_id] for payment_id in ids] if len(found) == len(ids) else []


def _record(
    consent: PaymentConsent,
    items: list[dict[str, Any]],
    *,
    request_key: str,
    dict_refusal: RegulatedError | None,
    settlement_check: SettlementCheck | None,
    actor: str,
) -> tuple[list[PixPayment], RegulatedError | None]:
    """The first transaction's work on an AUTHORISED consent (its row lock held)."""
    dates = check_items(consent, items, today=business_date())
    _check_end_to_end_ids_unused([item["endToEndId"] for item in items])
    batch_id = uuid.uuid4()
    payments = [
        _build_payment(item, consent=consent, batch_id=batch_id, scheduled_date=day, request_key=request_key)
        for item, day in zip(items, dates, strict=True)
    ]
    # §4.2: a holder may run the DICT check after answering RCVD; the worker then settles or rejects it.
    deferred = bool(payments[0].proxy) and dict_check_is_async()
    refusal = None if deferred else dict_refusal
    if refusal is None and settlement_check is not None:
        refusal = next(filter(None, map(settlement_check, payments)), None)
    if refusal is None:
        immediate = len(payments) == 1 and not deferred
        _save_received(payments, actor=actor, handed_to_bank=immediate)
        if not immediate:
            from payments.tasks import submit_payment_batch

            enqueue_after_commit(submit_payment_batch, str(batch_id), recovered_by="payments-resubmit-stalled-batches")
    consent_consume(consent, actor=actor)
    return payments, refusal


def _check_end_to_end_ids_unused(end_to_end_ids: list[str]) -> None:
    """An endToEndId names one Pix for the SPI; one a payment already carries is refused before the bank is asked
    (the bank would pay it again) as the 422 PARAMETRO_INVALIDO whose detail the yml gives as "endToEndId"
    (payments-4.0.0.yml, 422ResponseErrorCreatePayment, errors.detail: "PARAMETRO_INVALIDO: endToEndId"), a
    check of the request that leaves the consent untouched like the other §2.2.1 ones."""
    if end_to_end_ids_used(end_to_end_ids):
        raise ParameterInvalid("endToEndId já utilizado em outro pagamento.")


def _hand_to_bank(payments: list[PixPayment], *, resumed: bool) -> list[PixPayment]:
    """The effect, after the first transaction committed: an immediate payment goes to the bank."""
    payment = payments[0]
    if len(payments) > 1 or payment.bank_requested_at is None:
        return payments  # the worker's (submit_payment_batch)
    if resumed:
        if payment.refused_at_creation:
            raise _bank_refusal(payment.rejection_reason, payment.rejection_detail)
        if payment.status != PaymentStatus.RCVD:
            return [payment]
        # The first attempt's answer never reached our commit: ask the bank (the same key if it does not know it).
        return [resolve(PIX_PAYMENTS, payment.payment_id, actor="system:bank")]
    outcome = initiate(PIX_PAYMENTS, payment, hide_refusal=True, actor="system:bank")
    if outcome.refusal is not None:
        raise _bank_refusal(outcome.refusal.code, outcome.refusal.detail)
    return [outcome.payment]


def _bank_refusal(code: str, detail: str) -> RegulatedError:
    """A bank refusal at POST /pix/payments is the 422 of the same code (§2.2.2)."""
    return BANK_REFUSALS.get(code, RefusedByHolder)(detail or code)


def dict_check_is_async() -> bool:
    """OPUSOF_DICT_CHECK="async" answers a payment with a Pix key RCVD and checks the DICT in the worker (§4.2)."""
    return settings.OPUSOF_DICT_CHECK == "async"


def _dict_precheck(*, client: TppClient, consent_id: str, items: list[dict[str, Any]]) -> RegulatedError | None:
    """The synchronous DICT check (§2.3) of a request that would pass the local checks, made before the consent's
    row lock is taken (a remote read, not an instruction): the first transaction checks everything again."""
    if not items or not items[0].get("proxy") or dict_check_is_async():
        return None
    consent = PaymentConsent.objects.filter(consent_id=consent_id, client=client).first()
    if consent is None or consent.status != ConsentStatus.AUTHORISED or consent.debtor_account is None:
        return None
    try:
        dates = check_items(consent, items, today=business_date())
    except RegulatedError:
        return None
    probe = _build_payment(items[0], consent=consent, batch_id=uuid.uuid4(), scheduled_date=dates[0], request_key="")
    return payment_dict_refusal(probe, consent)


def _fido_flow_consent_id(items: list[dict[str, Any]]) -> str:
    """The consent a non-redirect payment names: CreatePixPayment's restrictions make ``authorisationFlow``
    mandatory "Se CIBA ou FIDO" and ``consentId`` mandatory "quando o valor do campo authorisationFlow for igual a
    FIDO_FLOW" (payments-4.0.0.yml lines 916, 933): missing → PARAMETRO_NAO_INFORMADO; another flow is a business
    rule, DETALHE_PAGAMENTO_INVALIDO (§2.2.2.8, line 111). Items naming different consents diverge (check_items)."""
    for item in items:
        if "authorisationFlow" not in item:
            raise ParameterMissing("authorisationFlow é obrigatório (FIDO_FLOW) com o token sem redirecionamento.")
        if item["authorisationFlow"] != AuthorisationFlow.FIDO_FLOW:
            raise PaymentDetailInvalid("authorisationFlow deve ser FIDO_FLOW com o token sem redirecionamento.")
        if not item.get("consentId"):
            raise ParameterMissing("consentId é obrigatório quando authorisationFlow é FIDO_FLOW.")
    consent_id: str = items[0]["consentId"]
    return consent_id


def payment_create_with_enrollment(
    *,
    client: TppClient,
    enrollment_id: str,
    items: list[dict[str, Any]],
    request_key: str = "",
) -> list[PixPayment]:
    """POST /pix/payments with the non-redirect token (security NonRedirectAuthorizationCode: openid
    ``enrollment:{enrollmentId}`` payments nrp-consents): the consent is the body's ``consentId``, which the token's
    enrollment must have authorised (POST /consents/{consentId}/authorise) and which must be the client's; the
    enrollment must still be AUTHORISED. The enrollment's limits are those of the settlement day (authorizeConsent
    description, enrollments-2.1.0.yml line 520: "apenas em momento de liquidação do pagamento, independente dele
    ser agendado ou imediato"), refused as the §2.2.2.2 VALOR_ACIMA_LIMITE. A scheduled payment is checked now
    against its settlement day: it is handed to the bank at creation, and the connector contract has no route by
    which opusof could hold it back when the bank settles it. The enrollment's row lock is held only by the first
    transaction: the limits count committed payment rows, so a concurrent payment sees this one before the bank
    is asked about either."""
    consent_id = _fido_flow_consent_id(items)

    def lock_enrollment_limits() -> SettlementCheck:
        enrollment = enrollment_lock_for_payment(client=client, enrollment_id=enrollment_id, consent_id=consent_id)

        def within_limits(payment: PixPayment) -> RegulatedError | None:
            day = payment.scheduled_date or business_date()
            problem = enrollment_limit_problem(enrollment, amount=payment.amount, day=day)
            return AboveLimit(problem) if problem else None

        return within_limits

    return payment_create(
        client=client,
        consent_id=consent_id,
        items=items,
        request_key=request_key,
        lock_settlement_check=lock_enrollment_limits,
    )


def payment_dict_refusal(payment: PixPayment, consent: PaymentConsent) -> RegulatedError | None:
    """DICT validation of the key and creditor account (§2.3 synchronous, §4.2 asynchronous)."""
    if not payment.proxy:
        return None
    try:
        result = payment_data_validator().validate_payment_data(_payment_data(payment, consent))
    except ConnectorUnavailable:
        return None  # the bank re-checks at initiation; an unavailable DICT is not the TPP's fault
    for issue in result.issues:
        if issue.code in _DICT_REFUSALS:
            return _DICT_REFUSALS[issue.code](issue.detail)
    return None


def _save_received(payments: list[PixPayment], *, actor: str, handed_to_bank: bool) -> None:
    """Inserts the RCVD rows with their history, each row and its history in one statement on PostgreSQL.
    ``handed_to_bank``: the caller calls the bank right after the commit, so from then on only the bank can tell the
    outcome. Two requests of different consents reusing one endToEndId race past the check to the unique index; the
    second is the same 422, before any bank call (the caller's transaction is rolled back with it)."""
    postgres = connection.vendor == "postgresql"
    for payment in payments:
        if handed_to_bank:
            payment.bank_requested_at = payment.created_at
        history = PaymentStatusChange(
            payment=payment, to_status=payment.status, actor=actor, reason="created", created_at=payment.created_at
        )
        try:
            if postgres:
                insert_with_history(payment, history)
                continue
            with transaction.atomic():
                payment.save(force_insert=True)
        except IntegrityError as exc:
            raise ParameterInvalid("endToEndId já utilizado em outro pagamento.") from exc
        history.save()


def payments_due_for_poll(*, limit: int = 500) -> list[str]:
    """Every payment to ask the bank about now, their backoff aside (the operator's poll_payment_status --all)."""
    return due_for_poll(PIX_PAYMENTS, schedules=True, backoff=False, limit=limit)


def payment_poll_status(*, payment_id: str) -> PixPayment:
    """Asks the bank for the current status of a payment it holds open (ACCP/ACPD/PDNG/SCHD), or of one handed to
    it whose answer never reached our commit (payments.lifecycle.resolve)."""
    payment: PixPayment = resolve(PIX_PAYMENTS, payment_id, actor="system:poll")
    return payment
