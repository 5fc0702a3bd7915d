"""When a recurring consent ends by itself (automatic payments v2 §2.1.2, approvalDueDate, expirationDateTime), on
the one expiry kit."""

import datetime as dt

from django.db.models import Q

from opusof.expiry import ExpiryKit
from opusof.models import TppClient
from opusof.transitions import transition
from recurring.errors import RecurringConsentNotFound
from recurring.models import Actor, Channel, ConsentRejectionCode, RecurringConsent, RecurringConsentStatus

AWAITING = (RecurringConsentStatus.AWAITING_AUTHORISATION, RecurringConsentStatus.PARTIALLY_ACCEPTED)


def _expiry_due(consent: RecurringConsent, now: dt.datetime) -> bool:
    """Whether the consent's life is over: not authorised within its window (approvalDueDate for a
    PARTIALLY_ACCEPTED one), or AUTHORISED and past expirationDateTime, the instant it "deve deixar de ser válido"
    (23:59:59 UTC for Pix Automático, so that day's second settlement window is still covered)."""
    if consent.status in AWAITING:
        return now > consent.authorisation_deadline
    if consent.status == RecurringConsentStatus.AUTHORISED:
        return consent.expires_at is not None and now >= consent.expires_at
    return False


def _end(consent: RecurringConsent, now: dt.datetime) -> None:
    """Not authorised in time → REJECTED TEMPO_EXPIRADO_AUTORIZACAO (§2.1.2; approvalDueDate: "caso contrário,
    consentimento deve ser rejeitado"). Authorised and expired → CONSUMED, the final state without a reason field in
    the response. The other ending criterion the spec names (globalLimits → CONSUMED) belongs to vrp, which this
    holder does not offer; sweeping's totalAllowedAmount only refuses the charge. Charges already scheduled stay:
    creation and edition keep them on or before the expiry date, and they settle on it."""
    if consent.status == RecurringConsentStatus.AUTHORISED:
        transition(consent, consent.consume, actor="system:expiry", reason="expirationDateTime", now=now)
        return
    transition(
        consent,
        lambda: consent.reject(
            by=Actor.DETENTORA,
            channel=Channel.DETENTORA,
            code=ConsentRejectionCode.TEMPO_EXPIRADO_AUTORIZACAO,
            detail="Consentimento não autorizado dentro do prazo.",
            at=now,
        ),
        actor="system:expiry",
        reason=ConsentRejectionCode.TEMPO_EXPIRADO_AUTORIZACAO,
        now=now,
    )


RECURRING_CONSENT_EXPIRY = ExpiryKit(
    model=RecurringConsent,
    id_field="recurring_consent_id",
    is_due=_expiry_due,
    end=_end,
    due=lambda now: (
        Q(status__in=AWAITING, authorisation_deadline__lt=now)
        | Q(status=RecurringConsentStatus.AUTHORISED, expires_at__lte=now)
    ),
    not_found=lambda consent_id: RecurringConsentNotFound(f"Consentimento {consent_id} não encontrado."),
)


def lock_recurring_consent(*, recurring_consent_id: str, client: TppClient | None = None) -> RecurringConsent:
    """Loads and row-locks a consent (scoped to ``client`` when given), applying a due expiry first."""
    return RECURRING_CONSENT_EXPIRY.lock(recurring_consent_id, client=client)


def recurring_consent_refresh(*, consent: RecurringConsent) -> RecurringConsent:
    """Lazy expiry on read (the beat sweep normally acts first)."""
    return RECURRING_CONSENT_EXPIRY.refresh(consent)


def recurring_consents_expire_due(*, limit: int = 500, now: dt.datetime | None = None) -> int:
    """Beat sweep: rejects every consent whose authorisation window has passed and consumes every authorised one
    past its expirationDateTime."""
    return RECURRING_CONSENT_EXPIRY.sweep(limit=limit, now=now)
