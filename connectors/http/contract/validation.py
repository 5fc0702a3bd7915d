"""``validate``: ``POST /payment-validation`` (ValidatePaymentData: 200 ``{}`` or 422 ``ErrorPaymentValidation``)."""

from dataclasses import dataclass
from typing import Any

from connectors.http.contract.consent import (
    consent_body,
    consent_info_from,
    payment_data_from_consent,
    recurring_terms_from,
)
from connectors.http.contract.errors import error_body, errors_from_body
from connectors.http.contract.wire import ContractError, account_from, document_from, need, payment_type
from connectors.interfaces import (
    AccountRef,
    ConsentInfo,
    PaymentData,
    ValidationIssue,
    ValidationResult,
)


def validation_request(data: PaymentData, *, meta: dict[str, str]) -> dict[str, Any]:
    """PaymentValidation: ValidatePaymentConsentPaymentValidation (the consent's payment) or, for a recurring consent,
    ValidatePaymentRecurringConsent (its creditors and recurringConfiguration; it has no amount of its own)."""
    consent = consent_body(data, meta["brandId"])
    body: dict[str, Any] = {"loggedUser": consent["loggedUser"]}
    if data.consent is not None:
        # Neither validation schema has the consent's times: only tpp and externalId travel.
        body["tpp"] = consent["tpp"]
        body["externalId"] = consent["externalId"]
    if data.consent is not None and data.consent.recurring is not None:
        body["creditors"] = consent["creditors"]
        body["payment"] = {"recurringConfiguration": consent["recurringConfiguration"]}
    else:
        body["creditor"] = consent["creditor"]
        body["payment"] = consent["payment"]
    if data.cnpj_initiator:
        body["payment"]["cnpjInitiator"] = data.cnpj_initiator
    if "businessDocumentType" in consent:
        # The v5 Portuguese spec spells it businessEntity (the older JSON schema file had BusinessEntity).
        body["businessEntity"] = consent["businessDocumentType"]
    if "debtorAccount" in consent:
        body["debtorAccount"] = consent["debtorAccount"]
    return {"requestMeta": meta, "requestBody": {"paymentType": payment_type(data), "data": body}}


def _validation_consent(body: Any) -> dict[str, Any]:
    data = dict(need(body, "requestBody", "data"))
    for spelling in ("businessEntity", "BusinessEntity"):
        if spelling in data:
            data["businessDocumentType"] = data.pop(spelling)
    return data


def payment_data_from_validation_request(body: Any) -> PaymentData:
    """The payment of a PAYMENT_CONSENT validation (the recurring one: ``recurring_validation_from_request``)."""
    data = _validation_consent(body)
    payment = payment_data_from_consent(data)
    cnpj = need(data, "payment").get("cnpjInitiator")
    return PaymentData(**{**payment.__dict__, "cnpj_initiator": str(cnpj) if cnpj else None})


@dataclass(frozen=True)
class RecurringValidation:
    """What a PAYMENT_RECURRING_CONSENT validation tells the bank: who, from which account, under which terms."""

    customer_document: str
    business_document: str | None
    debtor_account: AccountRef | None
    consent: ConsentInfo
    cnpj_initiator: str | None = None


def recurring_validation_from_request(body: Any) -> RecurringValidation:
    data = _validation_consent(body)
    customer = document_from(need(data, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    payment = need(data, "payment")
    terms = recurring_terms_from(data, need(payment, "recurringConfiguration"))
    consent = consent_info_from(data, terms)
    if consent is None:
        raise ContractError("missing externalId")
    debtor = data.get("debtorAccount")
    return RecurringValidation(
        customer_document=customer,
        business_document=document_from(data.get("businessDocumentType")),
        debtor_account=account_from(debtor) if debtor else None,
        consent=consent,
        cnpj_initiator=payment.get("cnpjInitiator") or None,
    )


def validation_response(result: ValidationResult) -> tuple[int, dict[str, Any]]:
    """200 ``{}`` when the payment passes; 422 with one error per code (the spec allows at most five)."""
    if result.ok:
        return 200, {}
    return 422, error_body([(issue.code, issue.detail) for issue in result.issues[:5]])


def validation_result_from_response(status: int, body: Any) -> ValidationResult:
    if status == 200:
        return ValidationResult()
    return ValidationResult(tuple(ValidationIssue(code, detail) for code, detail in errors_from_body(body)))
