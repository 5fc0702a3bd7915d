"""The Opus connector route contract (``specs/opus/connectors/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``, the
Portuguese file winning where the English one differs) and its translation to and from opusof's dataclasses.

This module is the only place that knows the wire shape. The HTTP connector (``connectors.http.client``) uses the
``*_request`` builders and the ``*_from_response`` parsers; the reference back-end (``connectors.reference``) uses
the inverse pair (``*_from_request`` and ``*_response``). ``tests/connectors/http/test_http_contract.py`` runs both
ways.

Five routes, all ``POST`` with a body ``{"requestMeta": {"correlationId", "brandId"}, ...}`` (sent as a JWS,
``application/jwt``: ``connectors.http.signing``):

=============  =======================  ====================================================================
route          path                     opusof capability
=============  =======================  ====================================================================
``validate``   ``/payment-validation``  ValidatePaymentData (200 ``{}`` or 422 ``ErrorPaymentValidation``)
``discovery``  ``/account-discovery``   DiscoverAccounts (200 ``{"data": {"resources": [...]}}``)
``initiate``   ``/payments``            InitiatePayment (201 ``ResponseCreatePixPayment``, 422 on refusal)
``status``     ``/find``                GetPaymentStatus (200 ``ResponseFindPixPayment``)
``cancel``     ``/cancellation``        CancelPayment (200, or 422 ``PAGAMENTO_NAO_PERMITE_CANCELAMENTO``)
=============  =======================  ====================================================================

A sixth route, ``list`` (``/opusof/payment-listing``), is opusof's own extension for reconciliation; its wire shape
lives in ``connectors.http.listing``.

Every route has two variants, chosen by the consent the call is made under (``PaymentData.consent``):
``paymentType: PAYMENT_CONSENT`` (payments v4; ``consent`` is ConsentPayment with ``creditor`` and ``payment``) and
``PAYMENT_RECURRING_CONSENT`` (automatic payments v2; ``consent`` is ConsentRecurringPayment with ``creditors`` and
``recurringConfiguration``, the payment names its ``recurringConsentId`` and, for an extra-day retry, its
``originalRecurringPaymentId``). A field the caller could not give (no consent at hand, e.g. the status sweep) is
left out rather than invented.
"""

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.interfaces import (
    AccountRef,
    AccountType,
    AutomaticConfiguration,
    BankPaymentStatus,
    ConsentInfo,
    Creditor,
    DiscoveredAccount,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
    RecurringTerms,
    SweepingConfiguration,
    ValidationIssue,
    ValidationResult,
    recurring_configuration_from_wire,
)

LISTING_ROUTE = "list"
ROUTES: dict[str, str] = {
    "validate": "/payment-validation",
    "discovery": "/account-discovery",
    "initiate": "/payments",
    "status": "/find",
    "cancel": "/cancellation",
    # Not in the Opus contract: opusof's extension for reconciliation (connectors.http.listing).
    LISTING_ROUTE: "/opusof/payment-listing",
}
PAYMENT_TYPE = "PAYMENT_CONSENT"
RECURRING_PAYMENT_TYPE = "PAYMENT_RECURRING_CONSENT"
# Cancellation status per variant: EnumPaymentCancellationStatusType (CANC) for payments v4,
# EnumRecurringPaymentCancellationStatusType (REJECTED, the only value) for recurring payments.
CANCEL_STATUS = {PAYMENT_TYPE: "CANC", RECURRING_PAYMENT_TYPE: "REJECTED"}
# The paymentId the bank returns is a list of key/value pairs (its legacy ids); ours travels under this key.
OPUSOF_PAYMENT_ID_KEY = "opusofPaymentId"
END_TO_END_ID_KEY = "endToEndId"
# originalRecurringPaymentId is a LegacyId list too; the retried payment's recurringPaymentId travels under this key.
ORIGINAL_PAYMENT_ID_KEY = "recurringPaymentId"
# Statuses of ResponseCreatePixPayment that BankPaymentStatus has no name for: the bank received the payment and has
# not decided yet, which opusof treats as pending (PDNG) and settles by polling the status route.
_UNDECIDED = {"RCVD": BankPaymentStatus.PDNG, "PATC": BankPaymentStatus.PDNG}
_CANCELLATION_NAMESPACE = uuid.UUID("0b5d6f3e-2f55-4b8e-8f7c-5a6b1d1c9e21")


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


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _datetime_from(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ContractError(f"invalid date-time {value!r}") from exc
    if parsed.tzinfo is None:
        raise ContractError(f"date-time without time zone {value!r}")
    return parsed


def _optional_amount(value: Any) -> Decimal | None:
    return None if value is None else _amount_from(value)


def _person(document: str, name: str) -> dict[str, str]:
    """Identification / Creditors item: CPF (11 digits) is a natural person, anything else a legal one."""
    return {
        "personType": "PESSOA_NATURAL" if len(document) == 11 else "PESSOA_JURIDICA",
        "cpfCnpj": document,
        "name": name,
    }


def _rel(document: str) -> str:
    return "CPF" if len(document) == 11 else "CNPJ"


def payment_type(data: PaymentData | None) -> str:
    """The route variant a payment goes out as: recurring when its consent is a recurring one."""
    return RECURRING_PAYMENT_TYPE if data and data.consent and data.consent.recurring else PAYMENT_TYPE


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


def _consent_meta(info: ConsentInfo | None) -> dict[str, Any]:
    """``creationDateTime``, ``tpp``, ``externalId``, ``expirationDateTime`` (required by ConsentPayment; the
    recurring consent's expiration is optional, an open-ended one has none)."""
    if info is None:
        return {}
    # TPP.name and ExternalId allow 100 characters.
    meta: dict[str, Any] = {"tpp": {"name": info.tpp_name[:100]}, "externalId": info.consent_id[:100]}
    if info.created_at is not None:
        meta["creationDateTime"] = _rfc3339(info.created_at)
    if info.expires_at is not None:
        meta["expirationDateTime"] = _rfc3339(info.expires_at)
    return meta


def _consent_info_from(consent: Any, recurring: RecurringTerms | None = None) -> ConsentInfo | None:
    if not isinstance(consent, dict) or "externalId" not in consent:
        return None
    return ConsentInfo(
        consent_id=str(consent["externalId"]),
        tpp_name=str(_need(consent, "tpp", "name")),
        created_at=_datetime_from(consent.get("creationDateTime")),
        expires_at=_datetime_from(consent.get("expirationDateTime")),
        recurring=recurring,
    )


def _configuration(config: AutomaticConfiguration | SweepingConfiguration) -> dict[str, Any]:
    """recurringConfiguration: ``automatic`` (AutomaticV2) or ``sweeping`` (PostSweeping; its start travels as the
    consent's ``startDateTime``, PostSweeping has no field for it)."""
    block: dict[str, Any]
    if isinstance(config, AutomaticConfiguration):
        block = {
            "contractId": config.contract_id,
            "interval": config.interval,
            "contractDebtor": {
                "name": config.contract_debtor_name,
                "document": {
                    "identification": config.contract_debtor_document,
                    "rel": _rel(config.contract_debtor_document),
                },
            },
            "isRetryAccepted": config.is_retry_accepted,
            "useOverdraftLimit": config.use_overdraft_limit,
            "referenceStartDate": config.reference_start_date.isoformat(),
        }
        for key, amount in (
            ("fixedAmount", config.fixed_amount),
            ("maximumVariableAmount", config.maximum_variable_amount),
            ("minimumVariableAmount", config.minimum_variable_amount),
        ):
            if amount is not None:
                block[key] = _money(amount)
        if (first := config.first_payment) is not None:
            block["firstPayment"] = {
                "type": "PIX",
                "date": first.date.isoformat(),
                "currency": first.currency,
                "amount": _money(first.amount),
                "creditorAccount": _account(first.creditor_account),
            }
            if first.remittance_information:
                block["firstPayment"]["remittanceInformation"] = first.remittance_information
        return {"automatic": block}
    block = {}
    if config.total_allowed_amount is not None:
        block["totalAllowedAmount"] = _money(config.total_allowed_amount)
    if config.transaction_limit is not None:
        block["transactionLimit"] = _money(config.transaction_limit)
    limits: dict[str, Any] = {}
    for limit in config.periodic_limits:
        entry: dict[str, Any] = {}
        if limit.quantity_limit is not None:
            entry["quantityLimit"] = limit.quantity_limit
        if limit.transaction_limit is not None:
            entry["transactionLimit"] = _money(limit.transaction_limit)
        limits[limit.period] = entry
    if limits:
        block["periodicLimits"] = limits
    return {"sweeping": block}


def _configuration_from(body: Any) -> AutomaticConfiguration | SweepingConfiguration:
    try:
        return recurring_configuration_from_wire(body)
    except ValueError as exc:
        raise ContractError(f"invalid recurringConfiguration: {exc}") from exc


def _recurring_terms_from(consent: Any, configuration: Any) -> RecurringTerms:
    creditors = _need(consent, "creditors")
    if not isinstance(creditors, list) or not creditors:
        raise ContractError("creditors must be a non-empty list")
    return RecurringTerms(
        creditors=tuple(Creditor(str(_need(c, "cpfCnpj")), str(_need(c, "name"))) for c in creditors),
        configuration=_configuration_from(configuration),
        start_at=_datetime_from(consent.get("startDateTime")),
        additional_information=consent.get("additionalInformation") or None,
    )


def _consent(data: PaymentData, brand_id: str) -> dict[str, Any]:
    """The route's ``consent``: ConsentPayment, or ConsentRecurringPayment for a recurring consent."""
    consent: dict[str, Any] = {
        "brandId": brand_id,
        **_consent_meta(data.consent),
        "loggedUser": _document(data.customer_document, "CPF"),
    }
    # "Como Identificar o Tipo de Usuário Logado": businessDocumentType present means a PJ user.
    if data.business_document:
        consent["businessDocumentType"] = _document(data.business_document, "CNPJ")
    terms = data.consent.recurring if data.consent else None
    if terms is not None:
        consent["creditors"] = [_person(c.document, c.name) for c in terms.creditors]
        consent["recurringConfiguration"] = _configuration(terms.configuration)
        if terms.start_at is not None:
            consent["startDateTime"] = _rfc3339(terms.start_at)
        if terms.additional_information:
            consent["additionalInformation"] = terms.additional_information
    else:
        consent["creditor"] = _person(data.creditor_document, data.creditor_name)
        consent["payment"] = _consent_payment(data)
        if data.transaction_identification:
            consent["payment"]["transactionIdentification"] = data.transaction_identification
    if data.debtor_account is not None:
        consent["debtorAccount"] = _account(data.debtor_account)
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
        consent=_consent_info_from(consent),
    )


# --- validate: POST /payment-validation ----------------------------------------------------------------------------


def validation_request(data: PaymentData, *, meta: dict[str, str]) -> dict[str, Any]:
    """PaymentValidation: ValidatePaymentConsentPaymentValidation (the consent's payment) or, for a recurring consent,
    ValidatePaymentRecurringConsent (its creditors and recurringConfiguration; it has no amount of its own)."""
    consent = _consent(data, meta["brandId"])
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
    data = dict(_need(body, "requestBody", "data"))
    for spelling in ("businessEntity", "BusinessEntity"):
        if spelling in data:
            data["businessDocumentType"] = data.pop(spelling)
    return data


def is_recurring_request(body: Any) -> bool:
    """The variant of a route's request: ``paymentType`` at the top, or inside ``requestBody`` for validation."""
    if not isinstance(body, dict):
        return False
    request_body = body.get("requestBody")
    kind = body.get("paymentType") or (request_body.get("paymentType") if isinstance(request_body, dict) else None)
    return bool(kind == RECURRING_PAYMENT_TYPE)


def payment_data_from_validation_request(body: Any) -> PaymentData:
    """The payment of a PAYMENT_CONSENT validation (the recurring one: ``recurring_validation_from_request``)."""
    data = _validation_consent(body)
    payment = _payment_data_from_consent(data)
    cnpj = _need(data, "payment").get("cnpjInitiator")
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
    customer = _document_from(_need(data, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    payment = _need(data, "payment")
    terms = _recurring_terms_from(data, _need(payment, "recurringConfiguration"))
    consent = _consent_info_from(data, terms)
    if consent is None:
        raise ContractError("missing externalId")
    debtor = data.get("debtorAccount")
    return RecurringValidation(
        customer_document=customer,
        business_document=_document_from(data.get("businessDocumentType")),
        debtor_account=_account_from(debtor) if debtor else None,
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


# --- discovery: POST /account-discovery ----------------------------------------------------------------------------


def discovery_request(
    *, customer_document: str, business_document: str | None, meta: dict[str, str], consent: ConsentInfo | None = None
) -> dict[str, Any]:
    """DiscoveryAccountsPayment. Only the logged user (and the business they act for) is always known; a recurring
    consent goes out whole (ConsentRecurringPaymentDiscoveryAccountsPayment), a payment consent with its
    ``tpp``/``externalId``/times (its payment is not known to the discovery capability)."""
    body: dict[str, Any] = {"brandId": meta["brandId"], **_consent_meta(consent)}
    body["loggedUser"] = _document(customer_document, "CPF")
    if business_document:
        body["businessDocumentType"] = _document(business_document, "CNPJ")
    terms = consent.recurring if consent else None
    if terms is not None:
        body["creditors"] = [_person(c.document, c.name) for c in terms.creditors]
        body["recurringConfiguration"] = _configuration(terms.configuration)
        if terms.start_at is not None:
            body["startDateTime"] = _rfc3339(terms.start_at)
        if terms.additional_information:
            body["additionalInformation"] = terms.additional_information
    kind = RECURRING_PAYMENT_TYPE if terms is not None else PAYMENT_TYPE
    return {"requestMeta": meta, "paymentType": kind, "consent": body}


def discovery_params_from_request(body: Any) -> tuple[str, str | None]:
    consent = _need(body, "consent")
    customer = _document_from(_need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing consent.loggedUser.document.identification")
    return customer, _document_from(consent.get("businessDocumentType"))


def discovery_consent_from_request(body: Any) -> ConsentInfo | None:
    """The consent a discovery is made for, when the request names one."""
    consent = _need(body, "consent")
    terms = _recurring_terms_from(consent, consent["recurringConfiguration"]) if is_recurring_request(body) else None
    return _consent_info_from(consent, terms)


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
    and cancellation routes send back in ``paymentId``. A recurring payment names its ``recurringConsentId``, always
    has ``date`` ("Como Identificar a Data de Efetivação do Pagamento": today is immediate, a later day scheduled)
    and, for an extra-day retry, ``originalRecurringPaymentId`` ("Como Identificar a Tentativa de Pagamento")."""
    data = initiation.data
    kind = payment_type(data)
    payment_data: dict[str, Any] = {
        "endToEndId": initiation.end_to_end_id,
        "localInstrument": data.local_instrument,
        "payment": {"amount": _money(data.amount), "currency": data.currency},
        "creditorAccount": _account(data.creditor_account),
    }
    if kind == RECURRING_PAYMENT_TYPE:
        assert data.consent is not None
        payment_data["recurringConsentId"] = data.consent.consent_id
        payment_data["document"] = {"identification": data.creditor_document, "rel": _rel(data.creditor_document)}
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
        "consent": _consent(data, meta["brandId"]),
        "requestBody": {"data": payment_data},
    }


def _recurring_payment_data(consent: Any, data: Any) -> PaymentData:
    """A recurring payment as PaymentData: the payment's own fields, the creditor it names (``document``) among the
    consent's ``creditors``, the consent's people and debtor account."""
    terms = _recurring_terms_from(consent, _need(consent, "recurringConfiguration"))
    customer = _document_from(_need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    creditor_document = str(_need(data, "document", "identification"))
    creditor_name = next((c.name for c in terms.creditors if c.document == creditor_document), "")
    debtor = consent.get("debtorAccount")
    # opusof's externalId is the recurringConsentId; another platform's may differ, and the payment's field wins.
    info = replace(
        _consent_info_from(consent, terms) or ConsentInfo("", ""), consent_id=str(_need(data, "recurringConsentId"))
    )
    return PaymentData(
        amount=_amount_from(_need(data, "payment", "amount")),
        currency=str(data["payment"].get("currency") or "BRL"),
        local_instrument=str(_need(data, "localInstrument")),
        creditor_account=_account_from(_need(data, "creditorAccount")),
        creditor_document=creditor_document,
        creditor_name=creditor_name,
        customer_document=customer,
        business_document=_document_from(consent.get("businessDocumentType")),
        debtor_account=_account_from(debtor) if debtor else None,
        proxy=data.get("proxy") or None,
        qr_code=data.get("qrCode") or None,
        transaction_identification=data.get("transactionIdentification") or None,
        payment_date=_date_from(_need(data, "date")),
        consent=info,
        cnpj_initiator=data.get("cnpjInitiator") or None,
    )


def initiation_from_request(body: Any) -> PaymentInitiation:
    data = _need(body, "requestBody", "data")
    consent = _need(body, "consent")
    if is_recurring_request(body):
        payment_data = _recurring_payment_data(consent, data)
    else:
        payment = _need(data, "payment")
        from_consent = _payment_data_from_consent(
            consent, amount=_need(payment, "amount"), currency=payment.get("currency")
        )
        # The payment's own fields win over the consent's (they were checked against it before the call).
        payment_data = PaymentData(
            **{
                **from_consent.__dict__,
                "local_instrument": str(_need(data, "localInstrument")),
                "creditor_account": _account_from(_need(data, "creditorAccount")),
                "proxy": data.get("proxy") or from_consent.proxy,
                "qr_code": data.get("qrCode") or from_consent.qr_code,
                "transaction_identification": data.get("transactionIdentification")
                or from_consent.transaction_identification,
                "payment_date": _date_from(data.get("date")) or from_consent.payment_date,
                "cnpj_initiator": data.get("cnpjInitiator") or None,
            }
        )
    key = str(_need(body, "idempotencyKey"))
    original = {item.get("key"): item.get("value") for item in data.get("originalRecurringPaymentId") or []}
    return PaymentInitiation(
        payment_id=str(body.get("internalIdempotencyKey") or key),
        end_to_end_id=str(_need(data, "endToEndId")),
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


def _lookup(
    payment_id: str, end_to_end_id: str, meta: dict[str, str], context: PaymentContext | None
) -> dict[str, Any]:
    """The part FindPixPayment and CancellationPixPayment share. Without a context (a caller holding only the ids)
    the consent carries only its brand."""
    data = context.data if context is not None else None
    return {
        "requestMeta": meta,
        "paymentType": payment_type(data),
        "paymentId": _payment_ids(payment_id, end_to_end_id),
        "consent": _consent(data, meta["brandId"]) if data is not None else {"brandId": meta["brandId"]},
    }


def find_request(
    *, payment_id: str, end_to_end_id: str, meta: dict[str, str], context: PaymentContext | None = None
) -> dict[str, Any]:
    """FindPixPayment: our ids, and the payment's consent (with its ``loggedUser``) when the caller gives it."""
    return _lookup(payment_id, end_to_end_id, meta, context)


def cancellation_idempotency_key(payment_id: str) -> str:
    """The ``idempotencyKey`` of a payment's cancellation: a payment is cancelled at most once, so one key per
    payment, derived from its id (stable across retries and restarts; 36 characters, within the 40 allowed)."""
    return str(uuid.uuid5(_CANCELLATION_NAMESPACE, payment_id))


def cancellation_request(
    *,
    payment_id: str,
    end_to_end_id: str,
    meta: dict[str, str],
    context: PaymentContext | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """CancellationPixPayment: ``requestBody.data.status`` CANC (PatchPixPaymentData) or, for a recurring payment,
    REJECTED (PatchPixRecurringPaymentData), with ``cancellation.cancelledBy`` the user who asked, and the
    optional ``idempotencyKey``."""
    body = _lookup(payment_id, end_to_end_id, meta, context)
    if idempotency_key:
        body["idempotencyKey"] = idempotency_key
    data: dict[str, Any] = {"status": CANCEL_STATUS[body["paymentType"]]}
    if context is not None and context.cancelled_by:
        data["cancellation"] = {"cancelledBy": _document(context.cancelled_by, _rel(context.cancelled_by))}
    body["requestBody"] = {"data": data}
    return body


@dataclass(frozen=True)
class PaymentLookup:
    """What a status or cancel request tells the bank (the inverse of ``find_request`` / ``cancellation_request``)."""

    payment_id: str
    end_to_end_id: str
    recurring: bool = False
    consent: ConsentInfo | None = None
    customer_document: str | None = None
    business_document: str | None = None
    debtor_account: AccountRef | None = None
    cancelled_by: str | None = None


def payment_lookup_from_request(body: Any) -> PaymentLookup:
    payment_id, end_to_end_id = payment_ids_from_request(body)
    consent = _need(body, "consent")
    recurring = is_recurring_request(body)
    terms = _recurring_terms_from(consent, consent["recurringConfiguration"]) if recurring else None
    debtor = consent.get("debtorAccount")
    cancelled_by = (((body.get("requestBody") or {}).get("data") or {}).get("cancellation") or {}).get("cancelledBy")
    return PaymentLookup(
        payment_id=payment_id,
        end_to_end_id=end_to_end_id,
        recurring=recurring,
        consent=_consent_info_from(consent, terms),
        customer_document=_document_from(consent.get("loggedUser")),
        business_document=_document_from(consent.get("businessDocumentType")),
        debtor_account=_account_from(debtor) if debtor else None,
        cancelled_by=_document_from(cancelled_by),
    )


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
