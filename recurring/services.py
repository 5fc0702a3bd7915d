"""Writes on recurring consents and recurring payments (automatic payments v2).

Every status change goes through ``opusof.transitions.transition`` (FSM transition + timestamps +
history row). Payment creation runs under the consent's row lock, so the limit arithmetic and the insert of the new
payment are one serial step per consent: concurrent charges never overshoot a limit.
"""

import contextlib
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.interfaces import (
    AccountRef,
    ConnectorUnavailable,
    ConsentInfo,
    Creditor,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    RecurringTerms,
    recurring_configuration_from_wire,
)
from connectors.registry import account_discovery
from opusof.errors import ParameterInvalid, ParameterMissing, RegulatedError
from opusof.models import TppClient
from opusof.ofb import account_from_wire
from opusof.timeutil import business_date, business_tz, end_of_business_day
from opusof.transitions import transition
from payments.lifecycle import (
    PaymentKind,
    complete_cancel,
    due_for_poll,
    end_to_end_ids_used,
    initiate,
    poll_with_backoff,
    record_cancel_request,
    resolve,
)
from payments.models import CANCELLABLE_STATUSES, PaymentStatus
from recurring import errors
from recurring.checks import check_charge
from recurring.expiry import AWAITING, lock_recurring_consent
from recurring.models import (
    Actor,
    Channel,
    ConsentRejectionCode,
    Product,
    RecurringCancellationReason,
    RecurringConsent,
    RecurringConsentStatus,
    RecurringConsentStatusChange,
    RecurringPayment,
    RecurringPaymentStatusChange,
    RecurringRejectionCode,
)
from recurring.validation import (
    AUTOMATIC_EXPIRY_TIME,
    validate_consent_request,
)

# Not stated in the yml (DIGEST §2.3): the OFB state machine gives a recurring consent 60 minutes to be authorised.
AUTHORISATION_WINDOW = dt.timedelta(minutes=60)
# Cancellation deadlines of Pix Automático (PATCH /pix/recurring-payments description): receiver until 22:00, payer
# until 23:59, Brasília time, of the day before the settlement date.
RECEIVER_CANCEL_TIME = dt.time(22, 0)
_PAYMENT_ID_NAMESPACE = uuid.UUID("2b0c7c8e-8f43-4a55-9d0e-6a1f3f2e7b21")


# --- consents -------------------------------------------------------------------------------------------------------


def _response_configuration(configuration: dict[str, Any], product: str, *, now: dt.datetime) -> dict[str, Any]:
    """The response's ``recurringConfiguration``: the request's block plus the fields the response requires
    (``useOverdraftLimit`` defaults to true; sweeping ``startDateTime`` defaults to the creation time)."""
    block = dict(configuration[product])
    block.setdefault("useOverdraftLimit", True)
    if product == Product.SWEEPING:
        block.setdefault("startDateTime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return {product: block}


def recurring_consent_create(*, client: TppClient, data: dict[str, Any]) -> RecurringConsent:
    """POST /recurring-consents: business rules (§2.2), then AWAITING_AUTHORISATION. No customer checks here."""
    now = timezone.now().replace(microsecond=0)
    product = validate_consent_request(data, now=now)
    expires = data.get("expirationDateTime")
    consent = RecurringConsent(
        client=client,
        product=product,
        created_at=now,
        status_updated_at=now,
        authorisation_deadline=now + AUTHORISATION_WINDOW,
        expires_at=dt.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) if expires else None,
        logged_user_document=data["loggedUser"]["document"]["identification"],
        business_entity_document=(data.get("businessEntity") or {}).get("document", {}).get("identification", ""),
        creditors=data["creditors"],
        configuration=_response_configuration(data["recurringConfiguration"], product, now=now),
        request_data=data,
    )
    if debtor := data.get("debtorAccount"):
        consent.set_debtor_account(account_from_wire(debtor))
    with transaction.atomic():
        consent.save()
        RecurringConsentStatusChange.objects.create(
            consent=consent, to_status=consent.status, actor=f"tpp:{client.client_id}", reason="created", created_at=now
        )
    return consent


def _account_refusal(consent: RecurringConsent, debtor_account: AccountRef) -> tuple[str, str] | None:
    """The bank's view of the chosen account: it must be the customer's (or the business's) and allowed to pay."""
    try:
        accounts = account_discovery().discover_accounts(
            customer_document=consent.logged_user_document,
            business_document=consent.business_entity_document or None,
            consent=recurring_consent_connector_info(consent),
        )
    except ConnectorUnavailable as exc:
        return ConsentRejectionCode.FALHA_INFRAESTRUTURA, f"Detentora indisponível: {exc}"
    match = next((found for found in accounts if found.account == debtor_account), None)
    if match is None or not match.may_pay:
        return ConsentRejectionCode.CONTA_NAO_PERMITE_PAGAMENTO, "A conta escolhida não permite pagamentos."
    return None


def recurring_consent_authorise(
    *, recurring_consent_id: str, debtor_account: AccountRef, actor: str, approvals_required: int = 1
) -> RecurringConsent:
    """The customer approved at the bank (consent pages): AUTHORISED, PARTIALLY_ACCEPTED (more approvers needed,
    due by 23:59 Brasília today) or REJECTED when the bank refuses the chosen account."""
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id)
        now = timezone.now().replace(microsecond=0)
        if consent.status != RecurringConsentStatus.AWAITING_AUTHORISATION:
            raise errors.ConsentNotAuthorisable(f"Consentimento está {consent.status}.")
        if consent.debtor_account is not None and consent.debtor_account != debtor_account:
            raise errors.ConsentNotAuthorisable("A conta escolhida difere da conta de débito do consentimento.")
        refusal = _account_refusal(consent, debtor_account)
        if refusal is not None:
            code, detail = refusal
            transition(
                consent,
                lambda: consent.reject(by=Actor.DETENTORA, channel=Channel.DETENTORA, code=code, detail=detail, at=now),
                actor=actor,
                reason=code,
                now=now,
            )
            return consent
        consent.set_debtor_account(debtor_account)
        consent.approvals_required = approvals_required
        if approvals_required > 1:
            today = business_date(now)
            consent.authorisation_deadline = end_of_business_day(today)
            transition(
                consent,
                lambda: consent.accept_partially(pending_approvals=approvals_required - 1, due=today),
                actor=actor,
                reason=f"{approvals_required - 1} aprovação(ões) pendente(s)",
                now=now,
            )
        else:
            transition(consent, lambda: consent.authorise(at=now), actor=actor, now=now)
        return consent


def recurring_consent_approve(*, recurring_consent_id: str, actor: str) -> RecurringConsent:
    """One more approver of a PARTIALLY_ACCEPTED consent ("Aprovações de múltipla alçada"); the last one makes it
    AUTHORISED. Each person approves once, and only until approvalDueDate 23:59 (after it the consent is REJECTED
    TEMPO_EXPIRADO_AUTORIZACAO, and that rejection is kept even though the approval is refused)."""
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id)
        now = timezone.now().replace(microsecond=0)
        refusal: RegulatedError | None = None
        if consent.status != RecurringConsentStatus.PARTIALLY_ACCEPTED:
            refusal = errors.ConsentNotAuthorisable(f"Consentimento está {consent.status}.")
        elif consent.history.filter(actor=actor).exists():
            refusal = errors.ConsentNotAuthorisable("Aprovação já registrada por este usuário.")
        elif consent.pending_approvals > 1:
            consent.pending_approvals -= 1
            consent.save(update_fields=["pending_approvals"])
            RecurringConsentStatusChange.objects.create(
                consent=consent,
                from_status=consent.status,
                to_status=consent.status,
                actor=actor,
                reason=f"aprovação registrada; {consent.pending_approvals} pendente(s)",
                created_at=now,
            )
            return consent
        else:
            transition(consent, lambda: consent.authorise(at=now), actor=actor, now=now)
            return consent
    raise refusal


def recurring_consent_reject(
    *,
    recurring_consent_id: str,
    code: str,
    detail: str,
    rejected_by: str,
    rejected_from: str,
    actor: str,
    client: TppClient | None = None,
) -> RecurringConsent:
    """Rejection of a consent not yet authorised: by the customer (REJEITADO_USUARIO), the bank, or the TPP (PATCH).
    Anything else is 422 CONSENTIMENTO_NAO_PERMITE_CANCELAMENTO (§2.4: rejection is for consents not authorised)."""
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        now = timezone.now().replace(microsecond=0)
        if consent.status in AWAITING:
            transition(
                consent,
                lambda: consent.reject(by=rejected_by, channel=rejected_from, code=code, detail=detail, at=now),
                actor=actor,
                reason=code,
                now=now,
            )
            return consent
    # raised after the block, so an expiry the lock applied is kept
    raise errors.ConsentNotCancellable(f"Consentimento em {consent.status} não pode ser rejeitado.")


def recurring_consent_reject_divergent_login(*, recurring_consent_id: str, customer_document: str) -> None:
    """The customer who logged in on the consent page is not the consent's ``loggedUser``: the consent ends REJECTED
    AUTENTICACAO_DIVERGENTE by the holder (automatic payments v2 §2.1.8, yml line 87; opusof.spec_versions
    "logged-user-divergent"). A consent already final, or one this customer may decide, is left as it is."""
    consent = RecurringConsent.objects.filter(recurring_consent_id=recurring_consent_id).first()
    if consent is None or consent.logged_user_document == customer_document:
        return
    with contextlib.suppress(errors.ConsentNotCancellable):  # already final: nothing left to reject
        recurring_consent_reject(
            recurring_consent_id=recurring_consent_id,
            code=ConsentRejectionCode.AUTENTICACAO_DIVERGENTE,
            detail="O usuário autenticado na detentora não é o que criou o consentimento na iniciadora.",
            rejected_by=Actor.DETENTORA,
            rejected_from=Channel.DETENTORA,
            actor=f"customer:{customer_document}",
        )


def recurring_consent_revoke(
    *,
    recurring_consent_id: str,
    code: str,
    detail: str,
    revoked_by: str,
    revoked_from: str,
    actor: str,
    client: TppClient | None = None,
) -> RecurringConsent:
    """Revocation of an AUTHORISED consent, by the TPP (PATCH), the customer (consent management area) or staff
    (admin). Payments scheduled until 23:59 of the next day are kept; later ones are cancelled (§2.3): recorded
    with the revocation, asked of the bank after it commits."""
    later: list[RecurringPayment] = []
    revoked = False
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        now = timezone.now().replace(microsecond=0)
        if consent.status == RecurringConsentStatus.AUTHORISED:
            revoked = True
            transition(
                consent,
                lambda: consent.revoke(by=revoked_by, channel=revoked_from, code=code, detail=detail, at=now),
                actor=actor,
                reason=code,
                now=now,
            )
            keep_until = business_date(now) + dt.timedelta(days=1)
            later = list(
                RecurringPayment.objects.select_for_update().filter(
                    consent=consent, status=PaymentStatus.SCHD, date__gt=keep_until
                )
            )
            for payment in later:
                _record_withdrawal(
                    payment,
                    consent,
                    code=RecurringRejectionCode.CONSENTIMENTO_REVOGADO,
                    detail="Consentimento revogado.",
                    actor=f"{actor} (revogação)",
                )
    if revoked:
        _withdraw_recorded([payment.recurring_payment_id for payment in later])
        return consent
    # raised after the block, so an expiry the lock applied (CONSUMED) is kept
    raise errors.ConsentNotCancellable(f"Consentimento em {consent.status} não pode ser revogado.")


# --- consent edition (PATCH, Pix Automático only) --------------------------------------------------------------------


def recurring_consent_edit(*, client: TppClient, recurring_consent_id: str, data: dict[str, Any]) -> RecurringConsent:
    """PATCH edition (§2.4): only creditor names, expirationDateTime and maximumVariableAmount of an AUTHORISED
    Pix Automático consent; risk signals required; the user must have full power over the consent."""
    later: list[RecurringPayment] = []
    with transaction.atomic():
        consent = lock_recurring_consent(recurring_consent_id=recurring_consent_id, client=client)
        now = timezone.now().replace(microsecond=0)
        if consent.product != Product.AUTOMATIC:
            raise errors.FieldNotAllowed("Somente consentimentos de Pix Automático podem ser editados.")
        if consent.status != RecurringConsentStatus.AUTHORISED:
            raise errors.EditionInvalid(f"Consentimento em {consent.status} não pode ser editado.")
        if consent.approvals_required > 1:
            raise errors.InsufficientPermission("Consentimento com múltiplas alçadas de aprovação.")
        block = consent.settings
        new_max = ((data.get("recurringConfiguration") or {}).get("automatic") or {}).get("maximumVariableAmount")
        if new_max is not None and "fixedAmount" in block:
            raise errors.FieldNotAllowed("maximumVariableAmount não é editável em consentimento de valor fixo.")
        minimum = block.get("minimumVariableAmount")
        if new_max is not None and minimum is not None and Decimal(new_max) < Decimal(minimum):
            raise errors.EditionInvalid("maximumVariableAmount menor que minimumVariableAmount.")
        new_expiry: dt.datetime | None = None
        if raw := data.get("expirationDateTime"):
            new_expiry = dt.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            if new_expiry.time() != AUTOMATIC_EXPIRY_TIME or new_expiry.date() < now.date():
                raise errors.EditionInvalid("expirationDateTime deve ser hoje ou depois, às 23:59:59 (UTC).")
        creditors = data["creditors"]
        if len(creditors) != len(consent.creditors) or any("name" not in item for item in creditors):
            raise errors.EditionInvalid("creditors deve trazer o nome de cada recebedor do consentimento.")
        current_max = block.get("maximumVariableAmount")
        current_expiry = consent.expires_at
        name_only = new_max == current_max and new_expiry == current_expiry
        # Both are mandatory "exceto para o caso de edição exclusiva do campo /data/creditors/name" (yml lines 1539,
        # 2391; spec_versions "name-only-edition").
        if "riskSignals" not in data and not name_only:
            raise errors.RiskSignalsMissing("riskSignals obrigatório na edição do consentimento.")
        logged = data.get("loggedUser")
        if logged is None and not name_only:
            raise ParameterMissing("loggedUser obrigatório para editar valor ou expiração.")
        if logged is not None and logged["document"]["identification"] != consent.logged_user_document:
            raise errors.InsufficientPermission("Usuário não tem poderes sobre este consentimento.")
        business = (data.get("businessEntity") or {}).get("document", {}).get("identification")
        if business is not None and business != consent.business_entity_document:
            raise errors.InsufficientPermission("businessEntity diverge do consentimento.")
        # Omitted = indefinite (§2.4): both fields take the sent value, or none.
        configuration = {Product.AUTOMATIC.value: dict(block)}
        if new_max is None:
            configuration[Product.AUTOMATIC].pop("maximumVariableAmount", None)
        else:
            configuration[Product.AUTOMATIC]["maximumVariableAmount"] = new_max
        consent.configuration = configuration
        consent.expires_at = new_expiry
        consent.creditors = [
            {**old, "name": new["name"]} for old, new in zip(consent.creditors, creditors, strict=True)
        ]
        consent.updated_at = now
        consent.save()
        RecurringConsentStatusChange.objects.create(
            consent=consent,
            from_status=consent.status,
            to_status=consent.status,
            actor=f"tpp:{client.client_id}",
            reason="edição",
            created_at=now,
        )
        if new_expiry is not None:
            # "Se a nova data de expiração for anterior a pagamentos já agendados, estes devem ser cancelados."
            later = list(
                RecurringPayment.objects.select_for_update().filter(
                    consent=consent, status=PaymentStatus.SCHD, date__gt=new_expiry.date()
                )
            )
            for payment in later:
                _record_withdrawal(
                    payment,
                    consent,
                    code=RecurringRejectionCode.FORA_PRAZO_PERMITIDO,
                    detail="Data posterior à nova expiração do consentimento.",
                    actor="system:edição",
                )
    _withdraw_recorded([payment.recurring_payment_id for payment in later])
    return consent


# --- payments --------------------------------------------------------------------------------------------------------


def recurring_consent_connector_info(consent: RecurringConsent) -> ConsentInfo:
    """The recurring consent as the connector routes' recurring variant names it (ConsentRecurringPayment)."""
    start = consent.settings.get("startDateTime")
    return ConsentInfo(
        consent_id=consent.recurring_consent_id,
        tpp_name=consent.client.name,
        created_at=consent.created_at,
        expires_at=consent.expires_at,
        recurring=RecurringTerms(
            creditors=tuple(Creditor(c["cpfCnpj"], c["name"]) for c in consent.creditors),
            configuration=recurring_configuration_from_wire(consent.configuration),
            start_at=dt.datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None,
            additional_information=consent.request_data.get("additionalInformation") or None,
        ),
    )


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
    now = timezone.now()
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


# --- cancellation ----------------------------------------------------------------------------------------------------


def _cancel_reason(payment: RecurringPayment) -> str:
    return (
        RecurringCancellationReason.CANCELADO_AGENDAMENTO
        if payment.status == PaymentStatus.SCHD
        else RecurringCancellationReason.CANCELADO_PENDENCIA
    )


def _record_withdrawal(
    payment: RecurringPayment, consent: RecurringConsent, *, code: str, detail: str, actor: str
) -> None:
    """A scheduled charge the consent no longer covers (revoked, or expiry moved before it): its cancellation by
    the holder is recorded with the consent change (the caller's transaction), and asked of the bank after the
    commit (``_withdraw_recorded``). If the bank will not cancel it, the charge is recorded RJCT with ``code``
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


def _withdraw_recorded(payment_ids: list[str]) -> None:
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
        if payment.status == PaymentStatus.SCHD and timezone.now() > cancellation_deadline(
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
