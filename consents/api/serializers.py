"""Wire shapes of payments v4 consents (ResponsePaymentConsent); request bodies are checked by opusof.specs."""

from typing import Any

from consents.models import ConsentStatus, PaymentConsent
from opusof.ofb import account_to_wire
from opusof.timeutil import rfc3339


def consent_to_wire(consent: PaymentConsent) -> dict[str, Any]:
    request = consent.request_data
    data: dict[str, Any] = {
        "consentId": consent.consent_id,
        "creationDateTime": rfc3339(consent.created_at),
        "expirationDateTime": rfc3339(consent.expires_at),
        "statusUpdateDateTime": rfc3339(consent.status_updated_at),
        "status": consent.status,
        "loggedUser": request["loggedUser"],
        "creditor": request["creditor"],
        "payment": request["payment"],
    }
    if "businessEntity" in request:
        data["businessEntity"] = request["businessEntity"]
    if (debtor := consent.debtor_account) is not None:
        data["debtorAccount"] = account_to_wire(debtor)
    if consent.status == ConsentStatus.REJECTED:
        data["rejectionReason"] = {"code": consent.rejection_reason, "detail": consent.rejection_detail}
    return data
