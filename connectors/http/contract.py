"""The Opus connector route contract (``specs/opus/connectors/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``, the
Portuguese file winning where the English one differs) and its translation to and from opusof's dataclasses.

This module is the only place that knows the wire shape. The HTTP connector (``connectors.http.client``) uses the
``*_request`` builders and the ``*_from_response`` parsers; the reference back-end (``connectors.reference``) uses
the inverse pair (``*_from_request`` and ``*_response``). ``tests/connectors/http/test_contract.py`` runs both ways.

Five routes, all ``POST`` with a JSON body ``{"requestMeta": {"correlationId", "brandId"}, ...}``:

=============  =======================  ====================================================================
route          path                     opusof capability
=============  =======================  ====================================================================
``validate``   ``/payment-validation``  ValidatePaymentData (200 ``{}`` or 422 ``ErrorPaymentValidation``)
``discovery``  ``/account-discovery``   DiscoverAccounts (200 ``{"data": {"resources": [...]}}``)
``initiate``   ``/payments``            InitiatePayment (201 ``ResponseCreatePixPayment``, 422 on refusal)
``status``     ``/find``                GetPaymentStatus (200 ``ResponseFindPixPayment``)
``cancel``     ``/cancellation``        CancelPayment (200, or 422 ``PAGAMENTO_NAO_PERMITE_CANCELAMENTO``)
=============  =======================  ====================================================================

Only the payments-v4 variant (``paymentType: PAYMENT_CONSENT``) is spoken here; the recurring variant
(``PAYMENT_RECURRING_CONSENT``) is not. Fields the spec requires that opusof's connector interface does not carry
(the consent's ``tpp.name``, ``externalId``, ``creationDateTime``, ``expirationDateTime`` and the payment's
``cnpjInitiator``) are left out rather than invented; see ``INTERFACE_GAPS``.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.interfaces import (
    AccountRef,
    AccountType,
    BankPaymentStatus,
    DiscoveredAccount,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
    ValidationIssue,
    ValidationResult,
)

ROUTES: dict[str, str] = {
    "validate": "/payment-validation",
    "discovery": "/account-discovery",
    "initiate": "/payments",
    "status": "/find",
    "cancel": "/cancellation",
}
PAYMENT_TYPE = "PAYMENT_CONSENT"
# Required by the spec, absent from connectors.interfaces: sending made-up values would be worse than omitting them.
INTERFACE_GAPS = ("consent.tpp", "consent.externalId", "consent.creationDateTime", "consent.expirationDateTime")
# The paymentId the bank returns is a list of key/value pairs (its legacy ids); ours travels under this key.
OPUSOF_PAYMENT_ID_KEY = "opusofPaymentId"
END_TO_END_ID_KEY = "endToEndId"
# Statuses of ResponseCreatePixPayment that BankPaymentStatus has no name for: the bank received the payment and has
# not decided yet, which opusof treats as pending (PDNG) and settles by polling the status route.
_UNDECIDED = {"RCVD": BankPaymentStatus.PDNG, "PATC": BankPaymentStatus.PDNG}


class ContractError(ValueError):
    """A body that does not follow the route contract (missing or malformed field)."""


# --- small pieces --------------------------------------------------------------------------------------------------


def request_meta(correlation_id: str | None, brand_id: str) -> dict[str, str]:
    """RequestMeta: ``correlationId`` must be a UUID (optionally ``localID:``-prefixed); the request's
    x-fapi-interaction-id is one, otherwise a fresh one is made so the bank can still trace the call."""
    try:
        correlation = str(uuid.UUID(correlation_id)) if correlation_id else str(uuid.uuid4())
    except ValueError:
        correlation = str(uuid.uuid4())
    return {"correlationId": correlation, "brandId": brand_id}


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _account(ref: AccountRef) -> dict[str, str]:
    body = {"ispb": ref.ispb, "number": ref.number, "accountType": str(ref.account_type)}
    if ref.issuer:
        body["issuer"] = ref.issuer
    return body


def _account_from(body: Any) -> AccountRef:
    if not isinstance(body, dict):
        raise ContractError("account object expected")
    try:
        return AccountRef(
            ispb=str(body["ispb"]),
            number=str(body["number"]),
            account_type=AccountType(body["accountType"]),
            issuer=str(body["issuer"]) if body.get("issuer") else None,
        )
    except (KeyError, ValueError) as exc:
        raise ContractError(f"invalid account: {exc}") from exc


def _document(identification: str, rel: str) -> dict[str, dict[str, str]]:
    return {"document": {"identification": identification, "rel": rel}}


def _document_from(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    document = body.get("document")
    return str(document["identification"]) if isinstance(document, dict) and "identification" in document else None


def _amount_from(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError) as exc:
        raise ContractError(f"invalid amount {value!r}") from exc


def _date_from(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContractError(f"invalid date {value!r}") from exc


def _need(body: Any, *path: str) -> Any:
    node = body
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ContractError(f"missing {'.'.join(path)}")
        node = node[key]
    return node


# --- consent, shared by every route --------------------------------------------------------------------------------


def _consent_payment(data: PaymentData) -> dict[str, Any]:
    details: dict[str, Any] = {
        "localInstrument": data.local_instrument,
        "creditorAccount": _account(data.creditor_account),
    }
    if data.proxy:
        details["proxy"] = data.proxy
    if data.qr_code:
        details["qrCode"] = data.qr_code
    payment: dict[str, Any] = {
        "type": "PIX",
        "currency": data.currency,
        "amount": _money(data.amount),
        "details": details,
    }
    # "Como Identificar a Data de Efetivação do Pagamento": no schedule is immediate, schedule.single.date is the
    # scheduled day (opusof hands the bank one dated payment per occurrence).
    if data.payment_date is not None:
        payment["purpose"] = "SINGLE_SCHEDULED"
        payment["schedule"] = {"type": "SINGLE", "single": {"date": data.payment_date.isoformat()}}
    else:
        payment["purpose"] = "IMMEDIATE"
    return payment


def _consent(data: PaymentData, brand_id: str) -> dict[str, Any]:
    consent: dict[str, Any] = {
        "brandId": brand_id,
        "loggedUser": _document(data.customer_document, "CPF"),
        "creditor": {
            "personType": "PESSOA_NATURAL" if len(data.creditor_document) == 11 else "PESSOA_JURIDICA",
            "cpfCnpj": data.creditor_document,
            "name": data.creditor_name,
        },
        "payment": _consent_payment(data),
    }
    # "Como Identificar o Tipo de Usuário Logado": businessDocumentType present means a PJ user.
    if data.business_document:
        consent["businessDocumentType"] = _document(data.business_document, "CNPJ")
    if data.debtor_account is not None:
        consent["debtorAccount"] = _account(data.debtor_account)
    if data.transaction_identification:
        consent["payment"]["transactionIdentification"] = data.transaction_identification
    return consent


def _payment_data_from_consent(consent: Any, *, amount: Any = None, currency: Any = None) -> PaymentData:
    payment = _need(consent, "payment")
    details = _need(payment, "details")
    schedule = payment.get("schedule") or {}
    single = schedule.get("single") if isinstance(schedule, dict) else None
    customer = _document_from(_need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    debtor = consent.get("debtorAccount")
    return PaymentData(
        amount=_amount_from(amount if amount is not None else _need(payment, "amount")),
        currency=str(currency or payment.get("currency") or "BRL"),
        local_instrument=str(_need(details, "localInstrument")),
        creditor_account=_account_from(_need(details, "creditorAccount")),
        creditor_document=str(_need(consent, "creditor", "cpfCnpj")),
        creditor_name=str(_need(consent, "creditor", "name")),
        customer_document=customer,
        business_document=_document_from(consent.get("businessDocumentType")),
        debtor_account=_account_from(debtor) if debtor else None,
        proxy=details.get("proxy") or None,
        qr_code=details.get("qrCode") or None,
        transaction_identification=payment.get("transactionIdentification") or None,
        payment_date=_date_from(single.get("date")) if isinstance(single, dict) else None,
    )


# --- validate: POST /payment-validation ----------------------------------------------------------------------------


def validation_request(data: PaymentData, *, meta: dict[str, str]) -> dict[str, Any]:
    """PaymentValidation: the consent's payment as ``requestBody.data`` (ValidatePaymentConsentPaymentValidation)."""
    consent = _consent(data, meta["brandId"])
    body: dict[str, Any] = {
        "loggedUser": consent["loggedUser"],
        "creditor": consent["creditor"],
        "payment": consent["payment"],
    }
    if "businessDocumentType" in consent:
        # The v5 Portuguese spec spells it businessEntity (the older JSON schema file had BusinessEntity).
        body["businessEntity"] = consent["businessDocumentType"]
    if "debtorAccount" in consent:
        body["debtorAccount"] = consent["debtorAccount"]
    return {"requestMeta": meta, "requestBody": {"paymentType": PAYMENT_TYPE, "data": body}}


def payment_data_from_validation_request(body: Any) -> PaymentData:
    data = dict(_need(body, "requestBody", "data"))
    for spelling in ("businessEntity", "BusinessEntity"):
        if spelling in data:
            data["businessDocumentType"] = data.pop(spelling)
    return _payment_data_from_consent(data)


def validation_response(result: ValidationResult) -> tuple[int, dict[str, Any]]:
    """200 ``{}`` when the payment passes; 422 with one error per code (the spec allows at most five)."""
    if result.ok:
        return 200, {}
    return 422, error_body([(issue.code, issue.detail) for issue in result.issues[:5]])


def validation_result_from_response(status: int, body: Any) -> ValidationResult:
    if status == 200:
        return ValidationResult()
    return ValidationResult(tuple(ValidationIssue(code, detail) for code, detail in errors_from_body(body)))


# --- discovery: POST /account-discovery ----------------------------------------------------------------------------


def discovery_request(*, customer_document: str, business_document: str | None, meta: dict[str, str]) -> dict[str, Any]:
    """DiscoveryAccountsPayment: only the logged user (and the business they act for) is known at this point."""
    consent: dict[str, Any] = {"brandId": meta["brandId"], "loggedUser": _document(customer_document, "CPF")}
    if business_document:
        consent["businessDocumentType"] = _document(business_document, "CNPJ")
    return {"requestMeta": meta, "paymentType": PAYMENT_TYPE, "consent": consent}


def discovery_params_from_request(body: Any) -> tuple[str, str | None]:
    consent = _need(body, "consent")
    customer = _document_from(_need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing consent.loggedUser.document.identification")
    return customer, _document_from(consent.get("businessDocumentType"))


def discovery_response(accounts: list[DiscoveredAccount]) -> dict[str, Any]:
    """DiscoveryPaymentsResponse. The spec asks for the accounts available for payment only, so accounts that
    may not pay are left out; ``resourceName`` carries the holder (shown to the customer), ``resourceLegacyId`` the
    account's identifiers."""
    resources = []
    for found in accounts:
        if not found.may_pay:
            continue
        ref = found.account
        resources.append(
            {
                "resourceName": [
                    {"key": "holderName", "value": found.holder_name},
                    {"key": "holderDocument", "value": found.holder_document},
                ],
                "resourceLegacyId": [{"key": "account", "value": f"{ref.issuer or ''}/{ref.number}"}],
                "authorizers": [{"cpf": found.holder_document, "name": found.holder_name}]
                if len(found.holder_document) == 11
                else [],
                "debtorAccount": _account(ref),
            }
        )
    return {"data": {"resources": resources}}


def discovered_accounts_from_response(body: Any) -> list[DiscoveredAccount]:
    resources = _need(body, "data", "resources")
    if not isinstance(resources, list):
        raise ContractError("data.resources must be a list")
    found = []
    for resource in resources:
        names = {item.get("key"): item.get("value") for item in resource.get("resourceName") or []}
        authorizers = resource.get("authorizers") or [{}]
        found.append(
            DiscoveredAccount(
                account=_account_from(_need(resource, "debtorAccount")),
                holder_name=str(names.get("holderName") or authorizers[0].get("name") or ""),
                holder_document=str(names.get("holderDocument") or authorizers[0].get("cpf") or ""),
                # Only accounts available for payment are returned (spec FAQ, "Sobre Descoberta de Recursos").
                may_pay=True,
            )
        )
    return found


# --- initiate: POST /payments --------------------------------------------------------------------------------------


def initiation_request(initiation: PaymentInitiation, *, meta: dict[str, str]) -> dict[str, Any]:
    """CreatePixPayment. ``idempotencyKey`` is opusof's deterministic key: the bank must answer a repeated key with
    the first result and never pay twice. ``internalIdempotencyKey`` carries opusof's payment id, which the status
    and cancellation routes send back in ``paymentId``."""
    data = initiation.data
    payment_data: dict[str, Any] = {
        "endToEndId": initiation.end_to_end_id,
        "localInstrument": data.local_instrument,
        "payment": {"amount": _money(data.amount), "currency": data.currency},
        "creditorAccount": _account(data.creditor_account),
    }
    if data.proxy:
        payment_data["proxy"] = data.proxy
    if data.qr_code:
        payment_data["qrCode"] = data.qr_code
    if data.transaction_identification:
        payment_data["transactionIdentification"] = data.transaction_identification
    if initiation.remittance_information:
        payment_data["remittanceInformation"] = initiation.remittance_information
    if data.payment_date is not None:
        payment_data["date"] = data.payment_date.isoformat()
    return {
        "requestMeta": meta,
        "idempotencyKey": initiation.idempotency_key,
        "internalIdempotencyKey": initiation.payment_id,
        "paymentType": PAYMENT_TYPE,
        "consent": _consent(data, meta["brandId"]),
        "requestBody": {"data": payment_data},
    }


def initiation_from_request(body: Any) -> PaymentInitiation:
    data = _need(body, "requestBody", "data")
    payment = _need(data, "payment")
    consent = _need(body, "consent")
    payment_data = _payment_data_from_consent(
        consent, amount=_need(payment, "amount"), currency=payment.get("currency")
    )
    # The payment's own fields win over the consent's (they were checked against it before the call).
    payment_data = PaymentData(
        **{
            **payment_data.__dict__,
            "local_instrument": str(_need(data, "localInstrument")),
            "creditor_account": _account_from(_need(data, "creditorAccount")),
            "proxy": data.get("proxy") or payment_data.proxy,
            "qr_code": data.get("qrCode") or payment_data.qr_code,
            "transaction_identification": data.get("transactionIdentification")
            or payment_data.transaction_identification,
            "payment_date": _date_from(data.get("date")) or payment_data.payment_date,
        }
    )
    key = str(_need(body, "idempotencyKey"))
    return PaymentInitiation(
        payment_id=str(body.get("internalIdempotencyKey") or key),
        end_to_end_id=str(_need(data, "endToEndId")),
        idempotency_key=key,
        data=payment_data,
        remittance_information=data.get("remittanceInformation") or None,
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


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payment_response(view: PaymentView, result: PaymentStatusResult, *, now: dt.datetime) -> dict[str, Any]:
    """ResponseCreatePixPayment / ResponseFindPixPayment / ResponseCancellationPixPayment (one shape)."""
    payment_ids = [{"key": OPUSOF_PAYMENT_ID_KEY, "value": view.payment_id}]
    if view.bank_id:
        payment_ids.append({"key": "bankPaymentId", "value": view.bank_id})
    data: dict[str, Any] = {
        "paymentId": payment_ids,
        "endToEndId": view.end_to_end_id,
        "creationDateTime": _rfc3339(view.created_at),
        "statusUpdateDateTime": _rfc3339(result.settled_at or now),
        "status": str(result.status),
        "localInstrument": view.local_instrument,
        "payment": {"amount": _money(view.amount), "currency": view.currency},
        "creditorAccount": _account(view.creditor_account),
        "debtorAccount": _account(view.debtor_account),
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
    data = _need(body, "data")
    raw = str(_need(data, "status"))
    try:
        status = _UNDECIDED.get(raw) or BankPaymentStatus(raw)
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


# --- status and cancel: POST /find, POST /cancellation -------------------------------------------------------------


def _payment_ids(payment_id: str, end_to_end_id: str) -> list[dict[str, str]]:
    return [{"key": OPUSOF_PAYMENT_ID_KEY, "value": payment_id}, {"key": END_TO_END_ID_KEY, "value": end_to_end_id}]


def find_request(*, payment_id: str, end_to_end_id: str, meta: dict[str, str]) -> dict[str, Any]:
    """FindPixPayment. The consent is not known to the status capability, so only its brand travels."""
    return {
        "requestMeta": meta,
        "paymentType": PAYMENT_TYPE,
        "paymentId": _payment_ids(payment_id, end_to_end_id),
        "consent": {"brandId": meta["brandId"]},
    }


def cancellation_request(*, payment_id: str, end_to_end_id: str, meta: dict[str, str]) -> dict[str, Any]:
    """CancellationPixPayment: ``requestBody.data.status`` is CANC (EnumPaymentCancellationStatusType)."""
    return {
        "requestMeta": meta,
        "paymentType": PAYMENT_TYPE,
        "paymentId": _payment_ids(payment_id, end_to_end_id),
        "consent": {"brandId": meta["brandId"]},
        "requestBody": {"data": {"status": "CANC"}},
    }


def payment_ids_from_request(body: Any) -> tuple[str, str]:
    ids = _need(body, "paymentId")
    if not isinstance(ids, list):
        raise ContractError("paymentId must be a list")
    pairs = {item.get("key"): item.get("value") for item in ids if isinstance(item, dict)}
    if not pairs.get(OPUSOF_PAYMENT_ID_KEY) or not pairs.get(END_TO_END_ID_KEY):
        raise ContractError(f"paymentId needs {OPUSOF_PAYMENT_ID_KEY} and {END_TO_END_ID_KEY}")
    return str(pairs[OPUSOF_PAYMENT_ID_KEY]), str(pairs[END_TO_END_ID_KEY])


# --- errors --------------------------------------------------------------------------------------------------------

# Titles as listed in the spec's ResponseErrorValidatePaymentData / ResponseErrorCreatePixPayment descriptions.
_TITLES = {
    "COBRANCA_INVALIDA": "Cobrança inválida.",
    "DETALHE_PAGAMENTO_INVALIDO": "Detalhe de pagamento inválido.",
    "NAO_INFORMADO": "Não informado.",
    "PAGAMENTO_RECUSADO_DETENTORA": "Pagamento recusado detentora.",
    "PAGAMENTO_RECUSADO_SPI": "Pagamento recusado SPI.",
    "SALDO_INSUFICIENTE": "Saldo insuficiente.",
    "VALOR_ACIMA_LIMITE": "Valor acima do limite.",
    "VALOR_INVALIDO": "Valor inválido.",
    "FALHA_INFRAESTRUTURA": "Falha infraestrutura.",
    "CONTA_NAO_PERMITE_PAGAMENTO": "Conta não permite pagamento.",
    "QRCODE_INVALIDO": "QR Code inválido.",
    "PAGAMENTO_NAO_PERMITE_CANCELAMENTO": "Pagamento não permite cancelamento.",
}


def error_body(errors: list[tuple[str, str]]) -> dict[str, Any]:
    """ResponseError: ``{"errors": [{"code", "title", "detail"}]}``."""
    return {
        "errors": [
            {"code": code, "title": _TITLES.get(code, code.replace("_", " ").capitalize()), "detail": detail or code}
            for code, detail in errors
        ]
    }


def errors_from_body(body: Any) -> list[tuple[str, str]]:
    errors = _need(body, "errors")
    if not isinstance(errors, list) or not errors:
        raise ContractError("errors must be a non-empty list")
    return [(str(_need(error, "code")), str(error.get("detail") or "")) for error in errors]
