"""Writes on Pix payments. Every status change goes through ``opusof.transitions.transition``."""

import contextlib
import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.interfaces import (
    BankPaymentStatus,
    ConnectorOutcomeUnknown,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
)
from connectors.registry import payment_canceller, payment_data_validator, payment_initiator, payment_status_reader
from consents.errors import ConsentNotFound
from consents.models import ConsentStatus, PaymentConsent
from consents.services import consent_connector_info, consent_consume, lock_consent
from enrollments.services import enrollment_limit_problem, enrollment_lock_for_payment
from opusof.errors import ParameterMissing, RegulatedError
from opusof.models import TppClient
from opusof.timeutil import business_date, end_of_business_day
from opusof.transitions import transition
from payments.checks import check_items
from payments.errors import (
    BANK_REFUSALS,
    AboveLimit,
    CancellationNotAllowed,
    ConsentInvalid,
    ConsentPendingAuthorisation,
    NotInformed,
    PaymentDetailInvalid,
    PaymentNotFound,
    RefusedByHolder,
)
from payments.models import (
    CANCELLABLE_STATUSES,
    AuthorisationFlow,
    CancellationReason,
    CancelledFrom,
    PaymentRejectionReason,
    PaymentStatus,
    PaymentStatusChange,
    PixPayment,
    PixPaymentBase,
)

# The multi-item schedule answer is asynchronous; all items must reach SCHD within 60 minutes (v4 recurring rules).
BATCH_SCHEDULING_WINDOW = dt.timedelta(minutes=60)
_PAYMENT_ID_NAMESPACE = uuid.UUID("6f1c1d2e-4f0a-4d5e-9a43-0b7c2f1e9d10")
# DICT refusals (§2.3 when synchronous, §4.2 when asynchronous): invalid data or suspected fraud.
_DICT_REFUSALS: dict[str, type[RegulatedError]] = {
    "DETALHE_PAGAMENTO_INVALIDO": PaymentDetailInvalid,
    "NAO_INFORMADO": NotInformed,
}


def apply_bank_status(payment: PixPaymentBase, result: PaymentStatusResult, *, actor: str) -> bool:
    """Moves the payment to what the bank reports; False when there is nothing to change."""
    move = payment.bank_status_transition(result, now=timezone.now())
    if move is None:
        return False
    transition(payment, move, actor=actor, reason=result.rejection_code or "")
    return True


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


def _submit(payment: PixPayment, consent: PaymentConsent) -> PaymentStatusResult:
    return payment_initiator().initiate_payment(
        PaymentInitiation(
            payment_id=payment.payment_id,
            end_to_end_id=payment.end_to_end_id,
            idempotency_key=payment.payment_id,
            data=_payment_data(payment, consent),
            remittance_information=payment.remittance_information or None,
        )
    )


def payment_id_for(consent_id: str, end_to_end_id: str) -> str:
    """Deterministic, so a request retried after a crash between the bank's answer and our commit asks the bank
    again with the same idempotency key (the payment id) and is never paid twice."""
    return str(uuid.uuid5(_PAYMENT_ID_NAMESPACE, f"{consent_id}|{end_to_end_id}"))


def _build_payment(
    item: dict[str, Any], *, consent: PaymentConsent, batch_id: uuid.UUID, scheduled_date: dt.date | None
) -> PixPayment:
    now = timezone.now()
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
        **PixPayment.request_columns(item, debtor=debtor),
    )


def _consent_refusal(consent: PaymentConsent) -> RegulatedError | None:
    if consent.status == ConsentStatus.PARTIALLY_ACCEPTED:
        # §2.2.2.11: answered without consuming or invalidating the consent.
        return ConsentPendingAuthorisation("Consentimento aguardando aprovação de múltiplas alçadas.")
    if consent.status != ConsentStatus.AUTHORISED:
        return ConsentInvalid(f"Consentimento em estado {consent.status}.")
    return None


def payment_create(
    *,
    client: TppClient,
    consent_id: str,
    items: list[dict[str, Any]],
    settlement_check: Callable[[PixPayment], RegulatedError | None] | None = None,
) -> list[PixPayment]:
    """POST /pix/payments (§2): checks the items against the consent, runs the DICT check, consumes the consent
    and hands the payments to the bank. Errors before the bank is asked leave the consent untouched; a DICT or
    bank refusal consumes it and creates no payment (§2.3). ``settlement_check`` refuses a payment as the bank
    would at its settlement, consuming the consent: the enrollment's limits of the FIDO flow."""
    actor = f"tpp:{client.client_id}"
    with transaction.atomic():
        try:
            consent = lock_consent(consent_id=consent_id, client=client)
        except ConsentNotFound as exc:
            raise ConsentInvalid(f"Consentimento {consent_id} não encontrado para este cliente.") from exc
        # Raised after the block so that an expiry found by lock_consent is kept.
        refusal = _consent_refusal(consent)
        if refusal is None:
            dates = check_items(consent, items, today=business_date())
            batch_id = uuid.uuid4()
            payments = [
                _build_payment(item, consent=consent, batch_id=batch_id, scheduled_date=day)
                for item, day in zip(items, dates, strict=True)
            ]
            # §4.2: a holder may run the DICT check after answering RCVD; the worker then settles or rejects it.
            deferred = bool(payments[0].proxy) and dict_check_is_async()
            refusal = None if deferred else _dict_refusal(payments[0], consent)
            if refusal is None and settlement_check is not None:
                refusal = next(filter(None, map(settlement_check, payments)), None)
            if refusal is None:
                refusal = _create_and_submit(payments, consent, actor=actor, deferred=deferred)
            consent_consume(consent, actor=actor)
    if refusal is not None:
        raise refusal
    return payments


def dict_check_is_async() -> bool:
    """OPUSOF_DICT_CHECK="async" answers a payment with a Pix key RCVD and checks the DICT in the worker (§4.2)."""
    return settings.OPUSOF_DICT_CHECK == "async"


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
    *, client: TppClient, enrollment_id: str, items: list[dict[str, Any]]
) -> list[PixPayment]:
    """POST /pix/payments with the non-redirect token (security NonRedirectAuthorizationCode: openid
    ``enrollment:{enrollmentId}`` payments nrp-consents): the consent is the body's ``consentId``, which the token's
    enrollment must have authorised (POST /consents/{consentId}/authorise) and which must be the client's; the
    enrollment must still be AUTHORISED. The enrollment's limits are those of the settlement day (authorizeConsent
    description, enrollments-2.1.0.yml line 520: "apenas em momento de liquidação do pagamento, independente dele
    ser agendado ou imediato"), refused as the §2.2.2.2 VALOR_ACIMA_LIMITE. A scheduled payment is checked now
    against its settlement day: it is handed to the bank at creation, and the connector contract has no route by
    which opusof could hold it back when the bank settles it."""
    consent_id = _fido_flow_consent_id(items)
    payments: list[PixPayment] = []
    error: RegulatedError | None = None
    with transaction.atomic():
        try:
            enrollment = enrollment_lock_for_payment(client=client, enrollment_id=enrollment_id, consent_id=consent_id)

            def within_limits(payment: PixPayment) -> RegulatedError | None:
                day = payment.scheduled_date or business_date()
                problem = enrollment_limit_problem(enrollment, amount=payment.amount, day=day)
                return AboveLimit(problem) if problem else None

            payments = payment_create(client=client, consent_id=consent_id, items=items, settlement_check=within_limits)
        except RegulatedError as exc:
            # Raised after the block: a refusal that consumed the consent must stay committed (§2.3).
            error = exc
    if error is not None:
        raise error
    return payments


def _dict_refusal(payment: PixPayment, consent: PaymentConsent) -> RegulatedError | None:
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


def _save_received(payments: list[PixPayment], *, actor: str) -> None:
    for payment in payments:
        payment.save(force_insert=True)
        PaymentStatusChange.objects.create(
            payment=payment, to_status=payment.status, actor=actor, reason="created", created_at=payment.created_at
        )


def _create_and_submit(
    payments: list[PixPayment], consent: PaymentConsent, *, actor: str, deferred: bool = False
) -> RegulatedError | None:
    if len(payments) > 1 or deferred:
        from payments.tasks import submit_payment_batch

        _save_received(payments, actor=actor)
        batch_id = str(payments[0].batch_id)
        transaction.on_commit(lambda: submit_payment_batch.delay(batch_id))
        return None
    try:
        # Saved only once the bank answered: a synchronous refusal creates no payment (§2.2.2).
        _initiate(payments[0], consent, before_apply=lambda: _save_received(payments, actor=actor))
    except ConnectorRejected as exc:
        return BANK_REFUSALS.get(exc.code, RefusedByHolder)(exc.detail or exc.code)
    return None


def _initiate(payment: PixPayment, consent: PaymentConsent, *, before_apply: Callable[[], None]) -> None:
    """Hands one immediate payment to the bank and applies its answer; a refusal (ConnectorRejected) is raised
    for the caller, which answers it synchronously (422) or as RJCT."""
    try:
        result = _submit(payment, consent)
    except ConnectorOutcomeUnknown as exc:
        # The bank may have paid: hold it (PDNG) and let the status poll learn the outcome, never RJCT it.
        before_apply()
        transition(payment, payment.hold, actor="system:bank", reason=f"resultado desconhecido: {exc}")
        return
    except ConnectorUnavailable as exc:
        before_apply()
        detail = f"Detentora indisponível: {exc}"
        transition(
            payment,
            lambda: payment.reject(reason=PaymentRejectionReason.FALHA_INFRAESTRUTURA_DETENTORA, detail=detail),
            actor="system:bank",
            reason=PaymentRejectionReason.FALHA_INFRAESTRUTURA_DETENTORA,
        )
        return
    before_apply()
    apply_bank_status(payment, result, actor="system:bank")


def _reject(payment: PixPayment, *, code: str, detail: str, actor: str) -> None:
    """RJCT with the reason ``code`` stands for (PixPaymentBase.rejection_reason_for)."""
    reason = payment.rejection_reason_for(code)
    transition(payment, lambda: payment.reject(reason=reason, detail=detail), actor=actor, reason=reason)


def _process_received_immediate(payment: PixPayment) -> None:
    """The worker's half of an immediate payment answered RCVD (§4.2): DICT check, then the bank."""
    refusal = _dict_refusal(payment, payment.consent) if payment.proxy else None
    if refusal is not None:
        _reject(payment, code=refusal.code, detail=refusal.detail, actor="system:dict")
        return
    try:
        _initiate(payment, payment.consent, before_apply=lambda: None)
    except ConnectorRejected as exc:
        _reject(payment, code=exc.code, detail=exc.detail or exc.code, actor="system:bank")


def payment_batch_submit(*, batch_id: str) -> list[PixPayment]:
    """The worker's half of a POST answered RCVD. An immediate payment gets its DICT check and goes to the bank
    (§4.2). A multi-item schedule is scheduled occurrence by occurrence; if one fails, all are RJCT with
    FALHA_AGENDAMENTO_PAGAMENTOS and the ones already scheduled are cancelled at the bank (v4 recurring rules)."""
    with transaction.atomic():
        payments = list(
            PixPayment.objects.select_for_update()
            .select_related("consent")
            .filter(batch_id=batch_id)
            .order_by("scheduled_date")
        )
        pending = [payment for payment in payments if payment.status == PaymentStatus.RCVD]
        if not pending:
            return payments
        if pending[0].scheduled_date is None:
            _process_received_immediate(pending[0])
            return payments
        if pending[0].proxy and dict_check_is_async():
            refusal = _dict_refusal(pending[0], pending[0].consent)
            if refusal is not None:
                for payment in pending:
                    _reject(payment, code=refusal.code, detail=refusal.detail, actor="system:dict")
                return payments
        if timezone.now() - pending[0].created_at > BATCH_SCHEDULING_WINDOW:
            for payment in pending:
                _reject_batch_item(payment, "prazo de 60 minutos para agendamento excedido")
            return payments
        results: list[tuple[PixPayment, PaymentStatusResult]] = []
        failure = ""
        for payment in pending:
            try:
                result = _submit(payment, payment.consent)
            except (ConnectorRejected, ConnectorUnavailable) as exc:
                failure = str(exc)
                break
            if result.status != BankPaymentStatus.SCHD:
                failure = f"{payment.payment_id}: {result.status} {result.rejection_code or ''}".strip()
                break
            results.append((payment, result))
        if not failure:
            for payment, result in results:
                apply_bank_status(payment, result, actor="system:bank")
            return payments
        for payment, _ in results:
            # Best effort: the poll reconciles what the bank kept; the RJCT below is what the TPP sees.
            with contextlib.suppress(ConnectorRejected, ConnectorUnavailable):
                payment_canceller().cancel_payment(
                    payment_id=payment.payment_id,
                    end_to_end_id=payment.end_to_end_id,
                    context=payment_connector_context(payment),
                )
        for payment in pending:
            _reject_batch_item(payment, failure)
        return payments


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
        or timezone.now() - payment.created_at <= BATCH_SCHEDULING_WINDOW
    ):
        return payment
    payment_batch_submit(batch_id=str(payment.batch_id))
    payment.refresh_from_db()
    return payment


# Statuses the bank still owes us a final answer on; SCHD counts once its date has come.
POLLED_STATUSES = (PaymentStatus.ACCP, PaymentStatus.ACPD, PaymentStatus.PDNG)
# A batch the worker has not scheduled after this long is resubmitted by the sweep (its own task may be lost).
BATCH_RESUBMIT_AFTER = dt.timedelta(minutes=2)


def payments_due_for_poll(*, limit: int = 500) -> list[str]:
    """Payment ids to ask the bank about, least recently updated first."""
    due = PixPayment.objects.filter(status__in=POLLED_STATUSES) | PixPayment.objects.filter(
        status=PaymentStatus.SCHD, scheduled_date__lte=business_date()
    )
    return list(due.order_by("status_updated_at").values_list("payment_id", flat=True)[:limit])


def payment_batches_stalled() -> list[str]:
    """Batches still RCVD after BATCH_RESUBMIT_AFTER: resubmitted, or rejected past their 60-minute window."""
    cutoff = timezone.now() - BATCH_RESUBMIT_AFTER
    batches = PixPayment.objects.filter(status=PaymentStatus.RCVD, created_at__lt=cutoff).values_list(
        "batch_id", flat=True
    )
    return [str(batch) for batch in batches.order_by().distinct()]


def payment_poll_status(*, payment_id: str) -> PixPayment:
    """Asks the bank for the current status of a payment it still holds open (ACCP/ACPD/PDNG/SCHD)."""
    with transaction.atomic():
        payment = (
            PixPayment.objects.select_for_update(of=("self",)).select_related("consent").get(payment_id=payment_id)
        )
        if payment.status in (PaymentStatus.RCVD, PaymentStatus.ACSC, PaymentStatus.RJCT, PaymentStatus.CANC):
            return payment
        try:
            result = payment_status_reader().get_payment_status(
                payment_id=payment.payment_id,
                end_to_end_id=payment.end_to_end_id,
                context=payment_connector_context(payment),
            )
        except ConnectorRejected:
            if payment.status != PaymentStatus.PDNG:
                raise
            # Held after an initiation whose answer was lost, and the bank never got it: initiate again, with the
            # same idempotency key, so a late first attempt and this one are one payment.
            try:
                result = _submit(payment, payment.consent)
            except ConnectorRejected as exc:
                _reject(payment, code=exc.code, detail=exc.detail or exc.code, actor="system:poll")
                return payment
        apply_bank_status(payment, result, actor="system:poll")
        return payment


def payment_cancel(
    *,
    payment_id: str,
    client: TppClient | None,
    cancelled_from: str,
    document: str,
    rel: str,
    actor: str,
) -> PixPayment:
    """Cancels one SCHD/PDNG payment (§1.9): SCHD until 23:59 Brasilia of the day before its date."""
    with transaction.atomic():
        queryset = PixPayment.objects.select_for_update()
        if client is not None:
            queryset = queryset.filter(client=client)
        try:
            payment = queryset.get(payment_id=payment_id)
        except PixPayment.DoesNotExist as exc:
            raise PaymentNotFound(f"Pagamento {payment_id} não encontrado.") from exc
        _cancel(payment, cancelled_from=cancelled_from, document=document, rel=rel, actor=actor)
        return payment


def _cancel(payment: PixPayment, *, cancelled_from: str, document: str, rel: str, actor: str) -> None:
    if payment.status not in CANCELLABLE_STATUSES:
        raise CancellationNotAllowed(f"Pagamento em estado {payment.status} não permite cancelamento.")
    if payment.status == PaymentStatus.SCHD and not _before_cancel_deadline(payment):
        raise CancellationNotAllowed("Prazo para cancelamento do agendamento encerrado (23:59 do dia anterior).")
    reason = (
        CancellationReason.CANCELADO_AGENDAMENTO
        if payment.status == PaymentStatus.SCHD
        else CancellationReason.CANCELADO_PENDENCIA
    )
    try:
        payment_canceller().cancel_payment(
            payment_id=payment.payment_id,
            end_to_end_id=payment.end_to_end_id,
            context=payment_connector_context(payment, cancelled_by=document),
        )
    except ConnectorRejected as exc:
        raise CancellationNotAllowed(exc.detail or exc.code) from exc
    except ConnectorUnavailable as exc:
        raise CancellationNotAllowed("Detentora indisponível no momento; tente novamente.") from exc
    now = timezone.now()
    transition(
        payment,
        lambda: payment.cancel(reason=reason, cancelled_from=cancelled_from, document=document, rel=rel, at=now),
        actor=actor,
        reason=reason,
    )


def _before_cancel_deadline(payment: PixPayment) -> bool:
    if payment.scheduled_date is None:
        return True
    return timezone.now() <= end_of_business_day(payment.scheduled_date - dt.timedelta(days=1))


def payments_cancel_for_consent(
    *, client: TppClient, consent_id: str, document: str, rel: str, actor: str
) -> list[PixPayment]:
    """PATCH /pix/payments/consents/{consentId}: cancels every SCHD/PDNG payment still cancellable."""
    with transaction.atomic():
        if not PaymentConsent.objects.filter(client=client, consent_id=consent_id).exists():
            raise ConsentNotFound(f"Consentimento {consent_id} não encontrado.")
        candidates = list(
            PixPayment.objects.select_for_update()
            .filter(consent__consent_id=consent_id, client=client, status__in=CANCELLABLE_STATUSES)
            .order_by("scheduled_date")
        )
        cancellable = [p for p in candidates if p.status == PaymentStatus.PDNG or _before_cancel_deadline(p)]
        if not cancellable:
            raise CancellationNotAllowed("Nenhum pagamento do consentimento permite cancelamento.")
        for payment in cancellable:
            _cancel(payment, cancelled_from=CancelledFrom.INICIADORA, document=document, rel=rel, actor=actor)
        return cancellable
