"""Wire shapes of Pix payments (ResponsePixPaymentData and friends)."""

from typing import Any

from opusof.ofb import account_to_wire, money
from opusof.timeutil import rfc3339
from payments.models import PaymentStatus, PixPayment


def payment_to_wire(payment: PixPayment) -> dict[str, Any]:
    data: dict[str, Any] = {
        "paymentId": payment.payment_id,
        "endToEndId": payment.end_to_end_id,
        "consentId": payment.consent.consent_id,
        "creationDateTime": rfc3339(payment.created_at),
        "statusUpdateDateTime": rfc3339(payment.status_updated_at),
        "status": payment.status,
        "localInstrument": payment.local_instrument,
        "cnpjInitiator": payment.cnpj_initiator,
        "payment": {"amount": money(payment.amount), "currency": payment.currency},
        "creditorAccount": account_to_wire(payment.creditor_account),
        "debtorAccount": account_to_wire(payment.debtor_account),
    }
    optional = {
        "proxy": payment.proxy,
        "qrCode": payment.qr_code,
        "ibgeTownCode": payment.ibge_town_code,
        "transactionIdentification": payment.transaction_identification,
        "remittanceInformation": payment.remittance_information,
        "authorisationFlow": payment.authorisation_flow,
    }
    data.update({key: value for key, value in optional.items() if value})
    if payment.status == PaymentStatus.RJCT:
        data["rejectionReason"] = {"code": payment.rejection_reason, "detail": payment.rejection_detail}
    if payment.status == PaymentStatus.CANC:
        assert payment.cancelled_at is not None
        data["cancellation"] = {
            "reason": payment.cancellation_reason,
            "cancelledFrom": payment.cancelled_from,
            "cancelledAt": rfc3339(payment.cancelled_at),
            "cancelledBy": {
                "document": {
                    "identification": payment.cancelled_by_document,
                    "rel": payment.cancelled_by_rel,
                }
            },
        }
    return data
