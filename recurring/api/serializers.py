"""Wire shapes of automatic payments v2 (ResponseRecurringConsent*, ResponseRecurringPayments*); request bodies
are checked against the regulator's schema by opusof.specs."""

from typing import Any

from opusof.ofb import account_to_wire, money
from opusof.timeutil import rfc3339
from payments.models import PaymentStatus
from recurring.models import Product, RecurringConsent, RecurringConsentStatus, RecurringPayment

# DebtorAccount.ibgeTownCode is expected for Pix Automático; the sandbox bank keeps no address, so the
# holder's own town (São Paulo, IBGE 3550308) stands in until the connector reports the customer's.
DEFAULT_IBGE_TOWN_CODE = "3550308"


def recurring_consent_to_wire(consent: RecurringConsent) -> dict[str, Any]:
    request = consent.request_data
    data: dict[str, Any] = {
        "recurringConsentId": consent.recurring_consent_id,
        "statusUpdateDateTime": rfc3339(consent.status_updated_at),
        "creationDateTime": rfc3339(consent.created_at),
        "status": consent.status,
        "loggedUser": request["loggedUser"],
        "creditors": consent.creditors,
        "recurringConfiguration": consent.configuration,
    }
    if "businessEntity" in request:
        data["businessEntity"] = request["businessEntity"]
    if consent.expires_at is not None:
        data["expirationDateTime"] = rfc3339(consent.expires_at)
    if "additionalInformation" in request:
        data["additionalInformation"] = request["additionalInformation"]
    if (debtor := consent.debtor_account) is not None:
        data["debtorAccount"] = account_to_wire(debtor)
        if consent.product == Product.AUTOMATIC:
            data["debtorAccount"]["ibgeTownCode"] = DEFAULT_IBGE_TOWN_CODE
    if consent.authorised_at is not None:
        data["authorisedAtDateTime"] = rfc3339(consent.authorised_at)
    if consent.updated_at is not None:
        data["updatedAtDateTime"] = rfc3339(consent.updated_at)
    if consent.approval_due_date is not None:
        data["approvalDueDate"] = consent.approval_due_date.isoformat()
    if consent.status == RecurringConsentStatus.REJECTED and consent.rejected_at is not None:
        data["rejection"] = {
            "rejectedBy": consent.rejected_by,
            "rejectedFrom": consent.rejected_from,
            "rejectedAt": rfc3339(consent.rejected_at),
            "reason": {"code": consent.rejection_code, "detail": consent.rejection_detail or consent.rejection_code},
        }
    if consent.status == RecurringConsentStatus.REVOKED and consent.revoked_at is not None:
        data["revocation"] = {
            "revokedBy": consent.revoked_by,
            "revokedFrom": consent.revoked_from,
            "revokedAt": rfc3339(consent.revoked_at),
            "reason": {
                "code": consent.revocation_code,
                "detail": consent.revocation_detail or consent.revocation_code,
            },
        }
    return data


def recurring_payment_to_wire(payment: RecurringPayment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "recurringPaymentId": payment.recurring_payment_id,
        "recurringConsentId": payment.consent.recurring_consent_id,
        "endToEndId": payment.end_to_end_id,
        "date": payment.date.isoformat(),
        "creationDateTime": rfc3339(payment.created_at),
        "statusUpdateDateTime": rfc3339(payment.status_updated_at),
        "status": payment.status,
        "cnpjInitiator": payment.cnpj_initiator,
        "payment": {"amount": money(payment.amount), "currency": payment.currency},
        "creditorAccount": account_to_wire(payment.creditor_account),
        "debtorAccount": account_to_wire(payment.debtor_account),
        "localInstrument": payment.local_instrument,
        "document": {"identification": payment.document_identification, "rel": payment.document_rel},
    }
    optional = {
        "remittanceInformation": payment.remittance_information,
        "proxy": payment.proxy,
        "transactionIdentification": payment.transaction_identification,
        "authorisationFlow": payment.authorisation_flow,
        "originalRecurringPaymentId": payment.original_recurring_payment_id,
        "paymentReference": payment.payment_reference,
    }
    data.update({key: value for key, value in optional.items() if value})
    if payment.status == PaymentStatus.RJCT:
        data["rejectionReason"] = {"code": payment.rejection_reason, "detail": payment.rejection_detail}
    if payment.status == PaymentStatus.CANC and payment.cancelled_at is not None:
        data["cancellation"] = {
            "reason": payment.cancellation_reason,
            "cancelledFrom": payment.cancelled_from,
            "cancelledAt": rfc3339(payment.cancelled_at),
            "cancelledBy": {
                "document": {"identification": payment.cancelled_by_document, "rel": payment.cancelled_by_rel}
            },
        }
    return data
