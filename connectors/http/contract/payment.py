"""``initiate``: ``POST /payments`` (CreatePixPayment), and the payment answer the initiation, status and
cancellation routes share (ResponseCreatePixPayment / ResponseFindPixPayment)."""

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from connectors.http.contract.consent import (
    consent_body,
    consent_info_from,
    payment_data_from_consent,
    recurring_terms_from,
)
from connectors.http.contract.wire import (
    OPUSOF_PAYMENT_ID_KEY,
    ORIGINAL_PAYMENT_ID_KEY,
    RECURRING_PAYMENT_TYPE,
    UNDECIDED,
    ContractError,
    account_body,
    account_from,
    amount_from,
    date_from,
    document_from,
    document_rel,
    is_recurring_request,
    money,
    need,
    payment_type,
    rfc3339,
)
from connectors.interfaces import (
    AccountRef,
    BankPaymentStatus,
    ConsentInfo,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
)


def initiation_request(initiation: PaymentInitiation, *, meta: dict[str, str]) -> dict[str, Any]:
    """CreatePixPayment. ``idempotencyKey`` is opusof's deterministic key: the bank must answer a repeated key with
    the first result and never pay twice. ``internalIdempotencyKey`` carries opusof's payment id, which the status
    and cancellation routes send back in ``paymentId``. A recurring payment names its ``recurringConsentId``, always
    has ``date`` ("Como Identificar a Data de Efetivação do Pagamento": today is immediate, a later day scheduled)
    and, for an extra-day retry, ``originalRecurringPaymentId`` ("Como Identificar a Tentativa de Pagamento")."""
    data = initiation.data
    kind = payment_type(data)
    payment_data: dict[str, Any] = {
        "endToEndId": initiation.end_to_end_id,
        "localInstrument": data.local_instrument,
        "payment": {"amount": money(data.amount), "currency": data.currency},
        "creditorAccount": account_body(data.creditor_account),
    }
    if kind == RECURRING_PAYMENT_TYPE:
        assert data.consent is not None
        payment_data["recurringConsentId"] = data.consent.consent_id
        payment_data["document"] = {
            "identification": data.creditor_document,
            "rel": document_rel(data.creditor_document),
        }
    optional = {
        "proxy": data.proxy,
        "qrCode": data.qr_code,
        "transactionIdentification": data.transaction_identification,
        "remittanceInformation": initiation.remittance_information,
        "cnpjInitiator": data.cnpj_initiator,
        "ibgeTownCode": initiation.ibge_town_code,
        "authorisationFlow": initiation.authorisation_flow,
        "paymentReference": initiation.payment_reference,
        "date": data.payment_date.isoformat() if data.payment_date is not None else None,
    }
    payment_data.update({key: value for key, value in optional.items() if value})
    if initiation.original_recurring_payment_id:
        payment_data["originalRecurringPaymentId"] = [
            {"key": ORIGINAL_PAYMENT_ID_KEY, "value": initiation.original_recurring_payment_id}
        ]
    return {
        "requestMeta": meta,
        "idempotencyKey": initiation.idempotency_key,
        "internalIdempotencyKey": initiation.payment_id,
        "paymentType": kind,
        "consent": consent_body(data, meta["brandId"]),
        "requestBody": {"data": payment_data},
    }


def _recurring_payment_data(consent: Any, data: Any) -> PaymentData:
    """A recurring payment as PaymentData: the payment's own fields, the creditor it names (``document``) among the
    consent's ``creditors``, the consent's people and debtor account."""
    terms = recurring_terms_from(consent, need(consent, "recurringConfiguration"))
    customer = document_from(need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    creditor_document = str(need(data, "document", "identification"))
    creditor_name = next((c.name for c in terms.creditors if c.document == creditor_document), "")
    debtor = consent.get("debtorAccount")
    # opusof's externalId is the recurringConsentId; another platform's may differ, and the payment's field wins.
    info = replace(
        consent_info_from(consent, terms) or ConsentInfo("", ""), consent_id=str(need(data, "recurringConsentId"))
    )
    return PaymentData(
        amount=amount_from(need(data, "payment", "amount")),
        currency=str(data["payment"].get("currency") or "BRL"),
        local_instrument=str(need(data, "localInstrument")),
        creditor_account=account_from(need(data, "creditorAccount")),
        creditor_document=creditor_document,
        creditor_name=creditor_name,
        customer_document=customer,
        business_document=document_from(consent.get("businessDocumentType")),
        debtor_account=account_from(debtor) if debtor else None,
        proxy=data.get("proxy") or None,
        qr_code=data.get("qrCode") or None,
        transaction_identification=data.get("transactionIdentification") or None,
        payment_date=date_from(need(data, "date")),
        consent=info,
        cnpj_initiator=data.get("cnpjInitiator") or None,
    )


def initiation_from_request(body: Any) -> PaymentInitiation:
    data = need(body, "requestBody", "data")
    consent = need(body, "consent")
    if is_recurring_request(body):
        payment_data = _recurring_payment_data(consent, data)
    else:
        payment = need(data, "payment")
        from_consent = payment_data_from_consent(
            consent, amount=need(payment, "amount"), currency=payment.get("currency")
        )
        # The payment's own fields win over the consent's (they were checked against it before the call).
        payment_data = PaymentData(
            **{
                **from_consent.__dict__,
                "local_instrument": str(need(data, "localInstrument")),
                "creditor_account": account_from(need(data, "creditorAccount")),
                "proxy": data.get("proxy") or from_consent.proxy,
                "qr_code": data.get("qrCode") or from_consent.qr_code,
                "transaction_identification": data.get("transactionIdentification")
                or from_consent.transaction_identification,
                "payment_date": date_from(data.get("date")) or from_consent.payment_date,
                "cnpj_initiator": data.get("cnpjInitiator") or None,
            }
        )
    key = str(need(body, "idempotencyKey"))
    original = {item.get("key"): item.get("value") for item in data.get("originalRecurringPaymentId") or []}
    return PaymentInitiation(
        payment_id=str(body.get("internalIdempotencyKey") or key),
        end_to_end_id=str(need(data, "endToEndId")),
        idempotency_key=key,
        data=payment_data,
        remittance_information=data.get("remittanceInformation") or None,
        original_recurring_payment_id=str(next(iter(original.values()))) if original else None,
        payment_reference=data.get("paymentReference") or None,
        authorisation_flow=data.get("authorisationFlow") or None,
        ibge_town_code=data.get("ibgeTownCode") or None,
    )


@dataclass(frozen=True)
class PaymentView:
    """What the bank knows of a payment, to render ResponseCreatePixPayment / ResponseFindPixPayment."""

    payment_id: str
    end_to_end_id: str
    amount: Decimal
    currency: str
    local_instrument: str
    creditor_account: AccountRef
    debtor_account: AccountRef
    created_at: dt.datetime
    proxy: str | None = None
    remittance_information: str | None = None
    payment_date: dt.date | None = None
    bank_id: str = ""


def payment_response(view: PaymentView, result: PaymentStatusResult, *, now: dt.datetime) -> dict[str, Any]:
    """ResponseCreatePixPayment / ResponseFindPixPayment / ResponseCancellationPixPayment (one shape)."""
    payment_ids = [{"key": OPUSOF_PAYMENT_ID_KEY, "value": view.payment_id}]
    if view.bank_id:
        payment_ids.append({"key": "bankPaymentId", "value": view.bank_id})
    data: dict[str, Any] = {
        "paymentId": payment_ids,
        "endToEndId": view.end_to_end_id,
        "creationDateTime": rfc3339(view.created_at),
        "statusUpdateDateTime": rfc3339(result.settled_at or now),
        "status": str(result.status),
        "localInstrument": view.local_instrument,
        "payment": {"amount": money(view.amount), "currency": view.currency},
        "creditorAccount": account_body(view.creditor_account),
        "debtorAccount": account_body(view.debtor_account),
    }
    if view.proxy:
        data["proxy"] = view.proxy
    if view.remittance_information:
        data["remittanceInformation"] = view.remittance_information
    if view.payment_date is not None:
        data["date"] = view.payment_date.isoformat()
    if result.rejection_code:
        data["rejectionReason"] = {"code": result.rejection_code, "detail": result.rejection_detail or "-"}
    return {"data": data}


def status_from_response(body: Any) -> PaymentStatusResult:
    data = need(body, "data")
    raw = str(need(data, "status"))
    try:
        status = UNDECIDED.get(raw) or BankPaymentStatus(raw)
    except ValueError as exc:
        raise ContractError(f"unknown status {raw!r}") from exc
    rejection = data.get("rejectionReason") or {}
    settled_at = None
    if status == BankPaymentStatus.ACSC and data.get("statusUpdateDateTime"):
        try:
            settled_at = dt.datetime.fromisoformat(str(data["statusUpdateDateTime"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ContractError("invalid statusUpdateDateTime") from exc
    ids = [f"{item.get('key')}={item.get('value')}" for item in data.get("paymentId") or []]
    return PaymentStatusResult(
        status=status,
        rejection_code=rejection.get("code") or None,
        rejection_detail=str(rejection.get("detail") or ""),
        bank_reference=";".join(ids)[:100],
        settled_at=settled_at,
    )
