"""When a payment consent ends by itself (payments v4 §1.3 expirationDateTime), on the one expiry kit."""

import datetime as dt

from django.db.models import Q

from consents.errors import ConsentNotFound
from consents.models import ConsentRejectionReason, ConsentStatus, PaymentConsent
from opusof.expiry import ExpiryKit
from opusof.models import TppClient
from opusof.transitions import transition

_OPEN = (ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.PARTIALLY_ACCEPTED, ConsentStatus.AUTHORISED)


def _expiry_reason(consent: PaymentConsent, now: dt.datetime) -> str | None:
    if now <= consent.expires_at:
        return None
    if consent.status in (ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.PARTIALLY_ACCEPTED):
        return ConsentRejectionReason.TEMPO_EXPIRADO_AUTORIZACAO
    if consent.status == ConsentStatus.AUTHORISED:
        return ConsentRejectionReason.TEMPO_EXPIRADO_CONSUMO
    return None


def _reject_expired(consent: PaymentConsent, now: dt.datetime) -> None:
    reason = _expiry_reason(consent, now) or ""
    detail = (
        "Consentimento expirou antes da autorização."
        if reason == ConsentRejectionReason.TEMPO_EXPIRADO_AUTORIZACAO
        else "Consentimento autorizado expirou antes do consumo."
    )
    transition(
        consent, lambda: consent.reject(reason=reason, detail=detail), actor="system:expiry", reason=reason, now=now
    )


CONSENT_EXPIRY = ExpiryKit(
    model=PaymentConsent,
    id_field="consent_id",
    is_due=lambda consent, now: _expiry_reason(consent, now) is not None,
    end=_reject_expired,
    due=lambda now: Q(status__in=_OPEN, expires_at__lt=now),
    not_found=lambda consent_id: ConsentNotFound(f"Consentimento {consent_id} não encontrado."),
)


def lock_consent(*, consent_id: str, client: TppClient | None = None) -> PaymentConsent:
    """Loads and row-locks a consent (scoped to ``client`` when given), applying a due expiry first."""
    return CONSENT_EXPIRY.lock(consent_id, client=client)


def consent_refresh(*, consent: PaymentConsent) -> PaymentConsent:
    """Lazy expiry on read, so a GET is right even when no worker sweeps (the sweep is a Celery job)."""
    return CONSENT_EXPIRY.refresh(consent)


def consents_expire_due(*, limit: int = 500) -> int:
    """The periodic sweep behind the lazy expiry on read: rejects every consent whose window has passed."""
    return CONSENT_EXPIRY.sweep(limit=limit)
