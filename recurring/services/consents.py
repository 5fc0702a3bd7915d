"""Writes on recurring consents before they are in force: creation, the customer's authorisation at the bank,
co-approval, rejection; and the consent as the bank's connector names it."""

import contextlib
import datetime as dt
from typing import Any

from django.db import transaction

from connectors.interfaces import (
    AccountRef,
    ConnectorUnavailable,
    ConsentInfo,
    Creditor,
    RecurringTerms,
    recurring_configuration_from_wire,
)
from connectors.registry import account_discovery
from opusof import clock
from opusof.errors import RegulatedError
from opusof.models import TppClient
from opusof.ofb import account_from_wire
from opusof.timeutil import business_date, end_of_business_day
from opusof.transitions import transition
from recurring import errors
from recurring.expiry import AWAITING, lock_recurring_consent
from recurring.models import (
    Actor,
    Channel,
    ConsentRejectionCode,
    Product,
    RecurringConsent,
    RecurringConsentStatus,
    RecurringConsentStatusChange,
)
from recurring.validation import (
    validate_consent_request,
)

# Not stated in the yml (DIGEST §2.3): the OFB state machine gives a recurring consent 60 minutes to be authorised.
AUTHORISATION_WINDOW = dt.timedelta(minutes=60)


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
    now = clock.now().replace(microsecond=0)
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
        now = clock.now().replace(microsecond=0)
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
        now = clock.now().replace(microsecond=0)
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
        now = clock.now().replace(microsecond=0)
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
