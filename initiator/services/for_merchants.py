"""What the merchant domain (merchant/) needs from the gateway beyond an application's own API: keeping the
application's callback URI in step with the merchant's redirect URL, and the gateway's tracked copy of a
consent's payments. Added for merchant/ (a new module, so the gateway's own services stay as they are)."""

from typing import Any

from initiator.models import Application, InitiatorConsent, InitiatorPayment


def application_set_callback_uris(*, application: Application, callback_uris: list[str]) -> None:
    Application.objects.filter(pk=application.pk).update(callback_uris=callback_uris)


def consent_status(*, application: Application, consent_id: str) -> str:
    """The status the gateway last verified at the holder ('' when the application has no such consent)."""
    status = (
        InitiatorConsent.objects.filter(application=application, consent_id=consent_id)
        .values_list("status", flat=True)
        .first()
    )
    return str(status or "")


def payment_statuses(*, application: Application, consent_id: str) -> dict[str, dict[str, Any]]:
    """paymentId → {status, reason} as the gateway last verified them at the holder, for one consent."""
    listed: dict[str, dict[str, Any]] = {}
    for payment in InitiatorPayment.objects.filter(application=application, consent__consent_id=consent_id):
        if not payment.payment_id:
            continue
        data = payment.holder_body.get("data") if isinstance(payment.holder_body, dict) else None
        reason = data.get("rejectionReason") if isinstance(data, dict) else None
        code = reason.get("code", "") if isinstance(reason, dict) else ""
        listed[payment.payment_id] = {"status": str(payment.status), "reason": str(code)}
    return listed


def consent_rejection(*, application: Application, consent_id: str) -> str:
    """Why the holder refused a consent, as the gateway last verified it: ``rejection.reason.code`` (payments v4
    ``EnumConsentRejectionReasonType``), else the status itself (``REVOKED``, ``REJECTED``), else ''."""
    consent = InitiatorConsent.objects.filter(application=application, consent_id=consent_id).first()
    if consent is None:
        return ""
    data = consent.holder_data if isinstance(consent.holder_data, dict) else {}
    rejection = data.get("rejection")
    reason = rejection.get("reason") if isinstance(rejection, dict) else None
    code = reason.get("code") if isinstance(reason, dict) else None
    return str(code or consent.status)
