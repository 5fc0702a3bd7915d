"""The consent journeys of the authorisation server: one entry per kind of thing a customer authorises, named by the
pushed request's dynamic scope (``consent:``, ``recurring-consent:``, ``enrollment:``; services.DYNAMIC_SCOPES).

Each journey says how to find what the TPP asked for (through its app's selectors), whether it still awaits the
customer, what the review page shows (its template and context), and what approving and denying it do (through
its app's services). The PAR endpoint, the review page and the token endpoint dispatch on the registry instead of
on the scope; a new product (the initiator's own consents) is one more entry in ``JOURNEYS``.
"""

import contextlib
import datetime as dt
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.utils import timezone

from connectors.interfaces import AccountRef, ConsentInfo
from consents.errors import ConsentNotAuthorisable, ConsentNotFound
from consents.expiry import consent_refresh
from consents.models import FINAL_CONSENT_STATUSES, ConsentStatus, PaymentConsent
from consents.selectors import consent_get_for_client
from consents.services import consent_approvals_required, consent_authorise, consent_connector_info, consent_reject
from enrollments.errors import EnrollmentNotFound
from enrollments.expiry import enrollment_refresh
from enrollments.models import FINAL_STATUSES as ENROLLMENT_FINAL_STATUSES
from enrollments.models import Enrollment, EnrollmentStatus
from enrollments.selectors import enrollment_get_for_client
from enrollments.services import enrollment_authorise, enrollment_cancel_by_customer
from opusof import clock
from opusof.authserver.display import INSTRUMENT_LABELS, br_date, brl
from opusof.documents import mask_document
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.models import TppClient
from recurring import errors as recurring_errors
from recurring.expiry import recurring_consent_refresh
from recurring.models import Actor, Channel, ConsentRejectionCode, RecurringConsent, RecurringConsentStatus
from recurring.selectors import (
    recurring_consent_display,
    recurring_consent_get_for_client,
    recurring_consent_token_horizon,
)
from recurring.services.consents import (
    recurring_consent_authorise,
    recurring_consent_connector_info,
    recurring_consent_reject,
    recurring_consent_reject_divergent_login,
)

# Scope kinds (services.DYNAMIC_SCOPES keys).
CONSENT = "consent"
RECURRING_CONSENT = "recurring-consent"
ENROLLMENT = "enrollment"
# A recurring consent without expiry lasts until revoked; its refresh token then lives "indefinitely" (bounded by
# the consent's status, checked on every refresh).
INDEFINITE_REFRESH_SECONDS = 60 * 60 * 24 * 365 * 50

Reviewed = TypeVar("Reviewed", PaymentConsent, RecurringConsent, Enrollment)


class JourneyEnds(Exception):
    """The journey cannot go on; the TPP gets ``access_denied`` with this description."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class ReviewFormInvalid(Exception):
    """The customer's answer needs correcting; the review page shows this message again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConsentJourney(ABC, Generic[Reviewed]):
    kind: str
    review_template: str
    not_found: str  # what the TPP and the PAR error say when the client has no such target
    denied: str  # the access_denied description when the customer refuses

    @abstractmethod
    def find(self, *, client: TppClient, target_id: str) -> Reviewed | None:
        """The client's target with a due expiry applied, or None."""

    @abstractmethod
    def awaits_customer(self, row: Reviewed) -> bool: ...

    @abstractmethod
    def not_awaiting(self, row: Reviewed) -> str:
        """Why the customer can no longer authorise ``row`` (expired, already decided)."""

    @abstractmethod
    def connector_info(self, row: Reviewed) -> ConsentInfo | None:
        """How the bank's account discovery names ``row`` (None where the contract has no variant for it)."""

    @abstractmethod
    def review_context(self, row: Reviewed, form: Mapping[str, str]) -> dict[str, Any]:
        """What ``review_template`` shows of ``row`` besides the TPP, the accounts and the form's error."""

    @abstractmethod
    def approve(self, row: Reviewed, *, account: AccountRef, customer: dict[str, str], form: Mapping[str, str]) -> None:
        """The customer approved paying from ``account``; JourneyEnds or ReviewFormInvalid when that fails."""

    @abstractmethod
    def deny(self, row: Reviewed, *, customer: dict[str, str]) -> None:
        """The customer refused; a target that became final meanwhile is denied all the same."""

    def reject_divergent_login(self, row: Reviewed, *, customer: dict[str, str]) -> bool:
        """The customer who logged in is not the target's loggedUser. True when the spec ends the target for it
        (opusof/spec_versions.py "divergent-login"); False keeps today's page asking for the right customer."""
        return False

    def refresh_token_expiry(self, *, client: TppClient, target_id: str, default: dt.datetime) -> dt.datetime:
        """Until when the refresh token of an authorisation of this kind lives."""
        return default

    def refresh_allowed(self, *, client: TppClient, target_id: str) -> bool:
        """Whether a refresh token of this kind may still mint access tokens."""
        return True


def customer_actor(customer: dict[str, str]) -> str:
    """Who the history rows name for what the customer decides on the bank's pages."""
    return f"customer:{customer['document']}"


class PaymentConsentJourney(ConsentJourney[PaymentConsent]):
    """Payments v4 consent (``openid payments consent:{consentId}``): approve → consent_authorise, deny →
    REJEITADO_USUARIO."""

    kind = CONSENT
    review_template = "authserver/consent.html"
    not_found = "Consentimento não encontrado."
    denied = "O cliente recusou a autorização."

    def refresh_allowed(self, *, client: TppClient, target_id: str) -> bool:
        # A consent CONSUMED or REJECTED authorises nothing more (payments v4 §"ciclo de vida do consentimento").
        consent = self.find(client=client, target_id=target_id)
        return consent is not None and consent.status not in FINAL_CONSENT_STATUSES

    def find(self, *, client: TppClient, target_id: str) -> PaymentConsent | None:
        try:
            # applies the 5-minute authorisation window (payments v4 §"expiração")
            return consent_refresh(consent=consent_get_for_client(client=client, consent_id=target_id))
        except ConsentNotFound:
            return None

    def awaits_customer(self, row: PaymentConsent) -> bool:
        return row.status == ConsentStatus.AWAITING_AUTHORISATION

    def not_awaiting(self, row: PaymentConsent) -> str:
        if row.rejection_reason == "TEMPO_EXPIRADO_AUTORIZACAO":
            return "Consentimento expirado."
        return f"Consentimento não aguarda autorização ({row.status})."

    def connector_info(self, row: PaymentConsent) -> ConsentInfo | None:
        return consent_connector_info(row)

    def review_context(self, row: PaymentConsent, form: Mapping[str, str]) -> dict[str, Any]:
        if row.scheduled_dates:
            dates = [br_date(day) for day in row.scheduled_dates]
        elif row.payment_date:
            dates = [br_date(row.payment_date)]
        else:
            dates = [br_date(clock.today())]
        return {
            "creditor_name": row.creditor_name,
            "creditor_document": mask_document(row.creditor_document),
            "amount": brl(row.amount),
            "dates": dates,
            "scheduled": row.is_scheduled,
            "method": INSTRUMENT_LABELS.get(row.local_instrument, row.local_instrument),
            "proxy": row.proxy,
            "business_document": mask_document(row.business_entity_document) if row.business_entity_document else "",
            "expires_at": row.expires_at,
        }

    def approve(
        self, row: PaymentConsent, *, account: AccountRef, customer: dict[str, str], form: Mapping[str, str]
    ) -> None:
        try:
            authorised = consent_authorise(
                consent_id=row.consent_id,
                debtor_account=account,
                actor=customer_actor(customer),
                approvals_required=consent_approvals_required(row.business_entity_document),
            )
        except ConsentNotAuthorisable as exc:
            raise JourneyEnds(exc.detail) from exc
        if authorised.status not in (ConsentStatus.AUTHORISED, ConsentStatus.PARTIALLY_ACCEPTED):
            # The bank refused (§5.2 priority table): the consent is REJECTED with its reason, the TPP gets an error.
            raise JourneyEnds(f"Consentimento rejeitado: {authorised.rejection_reason}.")

    def deny(self, row: PaymentConsent, *, customer: dict[str, str]) -> None:
        with contextlib.suppress(ConsentNotAuthorisable):
            consent_reject(
                consent_id=row.consent_id,
                reason="REJEITADO_USUARIO",
                detail="O cliente recusou a autorização na instituição detentora.",
                actor=customer_actor(customer),
            )


class RecurringConsentJourney(ConsentJourney[RecurringConsent]):
    """Automatic payments v2 recurring consent (``openid recurring-payments recurring-consent:{id}``): creditors,
    periodicity, limits, expiry; approve → recurring_consent_authorise, deny → rejected by the user. Its tokens live
    as long as the consent stays AUTHORISED ("A utilização das credenciais ... deve durar até que o consentimento
    recorrente atinja o fim do seu ciclo de vida")."""

    kind = RECURRING_CONSENT
    review_template = "authserver/consent_recurring.html"
    not_found = "Consentimento não encontrado."
    denied = "O cliente recusou a autorização."

    def find(self, *, client: TppClient, target_id: str) -> RecurringConsent | None:
        try:
            return recurring_consent_refresh(
                consent=recurring_consent_get_for_client(client=client, recurring_consent_id=target_id)
            )
        except recurring_errors.RecurringConsentNotFound:
            return None

    def awaits_customer(self, row: RecurringConsent) -> bool:
        return row.status == RecurringConsentStatus.AWAITING_AUTHORISATION

    def not_awaiting(self, row: RecurringConsent) -> str:
        if row.rejection_code == ConsentRejectionCode.TEMPO_EXPIRADO_AUTORIZACAO:
            return "Consentimento expirado."
        return f"Consentimento não aguarda autorização ({row.status})."

    def connector_info(self, row: RecurringConsent) -> ConsentInfo | None:
        return recurring_consent_connector_info(row)

    def review_context(self, row: RecurringConsent, form: Mapping[str, str]) -> dict[str, Any]:
        return {"consent": recurring_consent_display(row)}

    def approve(
        self, row: RecurringConsent, *, account: AccountRef, customer: dict[str, str], form: Mapping[str, str]
    ) -> None:
        try:
            authorised = recurring_consent_authorise(
                recurring_consent_id=row.recurring_consent_id,
                debtor_account=account,
                actor=customer_actor(customer),
                approvals_required=consent_approvals_required(row.business_entity_document),
            )
        except recurring_errors.ConsentNotAuthorisable as exc:
            raise JourneyEnds(exc.detail) from exc
        if authorised.status not in (RecurringConsentStatus.AUTHORISED, RecurringConsentStatus.PARTIALLY_ACCEPTED):
            raise JourneyEnds(f"Consentimento rejeitado: {authorised.rejection_code}.")

    def deny(self, row: RecurringConsent, *, customer: dict[str, str]) -> None:
        # automatic payments v2 §"rejection": rejectedBy USUARIO, rejectedFrom DETENTORA, REJEITADO_USUARIO.
        with contextlib.suppress(recurring_errors.ConsentNotCancellable):
            recurring_consent_reject(
                recurring_consent_id=row.recurring_consent_id,
                code=ConsentRejectionCode.REJEITADO_USUARIO,
                detail="O cliente recusou a autorização na instituição detentora.",
                rejected_by=Actor.USUARIO,
                rejected_from=Channel.DETENTORA,
                actor=customer_actor(customer),
            )

    def reject_divergent_login(self, row: RecurringConsent, *, customer: dict[str, str]) -> bool:
        # automatic-payments-2.0.0.yml line 87: REJECTED with AUTENTICACAO_DIVERGENTE.
        recurring_consent_reject_divergent_login(
            recurring_consent_id=row.recurring_consent_id, customer_document=customer["document"]
        )
        return True

    def refresh_token_expiry(self, *, client: TppClient, target_id: str, default: dt.datetime) -> dt.datetime:
        consent = self.find(client=client, target_id=target_id)
        horizon = recurring_consent_token_horizon(consent) if consent is not None else None
        return horizon if horizon is not None else timezone.now() + dt.timedelta(seconds=INDEFINITE_REFRESH_SECONDS)

    def refresh_allowed(self, *, client: TppClient, target_id: str) -> bool:
        # recurring_consent_token_horizon: no new tokens once the consent left AUTHORISED (revoked, consumed...).
        consent = self.find(client=client, target_id=target_id)
        return consent is not None and consent.status == RecurringConsentStatus.AUTHORISED


_AMOUNT = re.compile(r"^\d{1,15}([.,]\d{1,2})?$", re.ASCII)


def form_amount(value: str) -> Decimal | None:
    """A limit typed by the customer (``1000``, ``1000,50`` or ``1000.50``); None when empty or malformed."""
    value = value.strip()
    return Decimal(value.replace(",", ".")) if _AMOUNT.match(value) else None


class EnrollmentJourney(ConsentJourney[Enrollment]):
    """Enrollments v2 account-holder validation (``openid payments enrollment:{id}``): the customer picks the account
    and sets the limits of payments without redirection (transactionLimit, optional dailyLimit); approve →
    enrollment_authorise (AWAITING_ENROLLMENT), deny → REJEITADO_MANUALMENTE from DETENTORA."""

    kind = ENROLLMENT
    review_template = "authserver/consent_enrollment.html"
    not_found = "Vínculo de conta não encontrado."
    denied = "O cliente recusou o vínculo de conta."

    def refresh_allowed(self, *, client: TppClient, target_id: str) -> bool:
        # A REVOKED or REJECTED enrollment's non-redirect token may mint no more (enrollments v2 lifecycle).
        enrollment = self.find(client=client, target_id=target_id)
        return enrollment is not None and enrollment.status not in ENROLLMENT_FINAL_STATUSES

    def find(self, *, client: TppClient, target_id: str) -> Enrollment | None:
        try:
            return enrollment_refresh(enrollment=enrollment_get_for_client(client=client, enrollment_id=target_id))
        except EnrollmentNotFound:
            return None

    def awaits_customer(self, row: Enrollment) -> bool:
        # enrollments v2: the customer validates the account once the risk signals arrived
        return row.status == EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION

    def not_awaiting(self, row: Enrollment) -> str:
        return f"Vínculo de conta não aguarda autorização ({row.status})."

    def connector_info(self, row: Enrollment) -> ConsentInfo | None:
        return None  # enrollments v2: the contract's discovery has no enrollment variant

    def review_context(self, row: Enrollment, form: Mapping[str, str]) -> dict[str, Any]:
        return {
            "enrollment_name": row.enrollment_name,
            "transaction_limit": form.get("transaction_limit", ""),
            "daily_limit": form.get("daily_limit", ""),
        }

    def approve(
        self, row: Enrollment, *, account: AccountRef, customer: dict[str, str], form: Mapping[str, str]
    ) -> None:
        transaction_limit = form_amount(form.get("transaction_limit", ""))
        daily_text = form.get("daily_limit", "").strip()
        daily_limit = form_amount(daily_text) if daily_text else None
        if transaction_limit is None or (daily_text and daily_limit is None):
            raise ReviewFormInvalid("Informe limites válidos (ex.: 1000,00).")
        try:
            enrollment_authorise(
                enrollment_id=row.enrollment_id,
                debtor_account=account,
                actor=customer_actor(customer),
                transaction_limit=transaction_limit,
                daily_limit=daily_limit,
                customer_document=customer["document"],
                customer_name=customer["name"],
            )
        except ParameterInvalid as exc:  # zero or negative limits: the customer corrects them
            raise ReviewFormInvalid(exc.detail) from exc
        except RegulatedError as exc:
            raise JourneyEnds(exc.detail) from exc

    def deny(self, row: Enrollment, *, customer: dict[str, str]) -> None:
        with contextlib.suppress(RegulatedError):  # already final: the TPP gets access_denied all the same
            enrollment_cancel_by_customer(enrollment_id=row.enrollment_id, document=customer["document"])


JOURNEYS: dict[str, ConsentJourney[Any]] = {
    journey.kind: journey for journey in (PaymentConsentJourney(), RecurringConsentJourney(), EnrollmentJourney())
}
