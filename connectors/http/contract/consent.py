"""The route's ``consent`` (ConsentPayment, or ConsentRecurringPayment for a recurring consent), which every route
but the listing carries, to and from opusof's ``PaymentData`` / ``ConsentInfo``."""

from typing import Any

from connectors.http.contract.wire import (
    ContractError,
    account_body,
    account_from,
    amount_from,
    date_from,
    datetime_from,
    document_body,
    document_from,
    document_rel,
    money,
    need,
    person,
    rfc3339,
)
from connectors.interfaces import (
    AutomaticConfiguration,
    ConsentInfo,
    Creditor,
    PaymentData,
    RecurringTerms,
    SweepingConfiguration,
    recurring_configuration_from_wire,
)


def _consent_payment(data: PaymentData) -> dict[str, Any]:
    details: dict[str, Any] = {
        "localInstrument": data.local_instrument,
        "creditorAccount": account_body(data.creditor_account),
    }
    if data.proxy:
        details["proxy"] = data.proxy
    if data.qr_code:
        details["qrCode"] = data.qr_code
    payment: dict[str, Any] = {
        "type": "PIX",
        "currency": data.currency,
        "amount": money(data.amount),
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


def consent_meta(info: ConsentInfo | None) -> dict[str, Any]:
    """``creationDateTime``, ``tpp``, ``externalId``, ``expirationDateTime`` (required by ConsentPayment; the
    recurring consent's expiration is optional, an open-ended one has none)."""
    if info is None:
        return {}
    # TPP.name and ExternalId allow 100 characters.
    meta: dict[str, Any] = {"tpp": {"name": info.tpp_name[:100]}, "externalId": info.consent_id[:100]}
    if info.created_at is not None:
        meta["creationDateTime"] = rfc3339(info.created_at)
    if info.expires_at is not None:
        meta["expirationDateTime"] = rfc3339(info.expires_at)
    return meta


def consent_info_from(consent: Any, recurring: RecurringTerms | None = None) -> ConsentInfo | None:
    if not isinstance(consent, dict) or "externalId" not in consent:
        return None
    return ConsentInfo(
        consent_id=str(consent["externalId"]),
        tpp_name=str(need(consent, "tpp", "name")),
        created_at=datetime_from(consent.get("creationDateTime")),
        expires_at=datetime_from(consent.get("expirationDateTime")),
        recurring=recurring,
    )


def configuration_body(config: AutomaticConfiguration | SweepingConfiguration) -> dict[str, Any]:
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
                    "rel": document_rel(config.contract_debtor_document),
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
                block[key] = money(amount)
        if (first := config.first_payment) is not None:
            block["firstPayment"] = {
                "type": "PIX",
                "date": first.date.isoformat(),
                "currency": first.currency,
                "amount": money(first.amount),
                "creditorAccount": account_body(first.creditor_account),
            }
            if first.remittance_information:
                block["firstPayment"]["remittanceInformation"] = first.remittance_information
        return {"automatic": block}
    block = {}
    if config.total_allowed_amount is not None:
        block["totalAllowedAmount"] = money(config.total_allowed_amount)
    if config.transaction_limit is not None:
        block["transactionLimit"] = money(config.transaction_limit)
    limits: dict[str, Any] = {}
    for limit in config.periodic_limits:
        entry: dict[str, Any] = {}
        if limit.quantity_limit is not None:
            entry["quantityLimit"] = limit.quantity_limit
        if limit.transaction_limit is not None:
            entry["transactionLimit"] = money(limit.transaction_limit)
        limits[limit.period] = entry
    if limits:
        block["periodicLimits"] = limits
    return {"sweeping": block}


def _configuration_from(body: Any) -> AutomaticConfiguration | SweepingConfiguration:
    try:
        return recurring_configuration_from_wire(body)
    except ValueError as exc:
        raise ContractError(f"invalid recurringConfiguration: {exc}") from exc


def recurring_terms_from(consent: Any, configuration: Any) -> RecurringTerms:
    creditors = need(consent, "creditors")
    if not isinstance(creditors, list) or not creditors:
        raise ContractError("creditors must be a non-empty list")
    return RecurringTerms(
        creditors=tuple(Creditor(str(need(c, "cpfCnpj")), str(need(c, "name"))) for c in creditors),
        configuration=_configuration_from(configuration),
        start_at=datetime_from(consent.get("startDateTime")),
        additional_information=consent.get("additionalInformation") or None,
    )


def consent_head(
    info: ConsentInfo | None, *, brand_id: str, customer_document: str, business_document: str | None
) -> dict[str, Any]:
    """What every route's ``consent`` starts with: the brand, the consent's ``tpp``/``externalId``/times, the logged
    user (and the business they act for) and, for a recurring consent, its creditors and terms."""
    consent: dict[str, Any] = {
        "brandId": brand_id,
        **consent_meta(info),
        "loggedUser": document_body(customer_document, "CPF"),
    }
    # "Como Identificar o Tipo de Usuário Logado": businessDocumentType present means a PJ user.
    if business_document:
        consent["businessDocumentType"] = document_body(business_document, "CNPJ")
    terms = info.recurring if info else None
    if terms is not None:
        consent["creditors"] = [person(c.document, c.name) for c in terms.creditors]
        consent["recurringConfiguration"] = configuration_body(terms.configuration)
        if terms.start_at is not None:
            consent["startDateTime"] = rfc3339(terms.start_at)
        if terms.additional_information:
            consent["additionalInformation"] = terms.additional_information
    return consent


def consent_body(data: PaymentData, brand_id: str) -> dict[str, Any]:
    """The route's ``consent``: ConsentPayment, or ConsentRecurringPayment for a recurring consent."""
    consent = consent_head(
        data.consent,
        brand_id=brand_id,
        customer_document=data.customer_document,
        business_document=data.business_document,
    )
    if not (data.consent and data.consent.recurring):
        consent["creditor"] = person(data.creditor_document, data.creditor_name)
        consent["payment"] = _consent_payment(data)
        if data.transaction_identification:
            consent["payment"]["transactionIdentification"] = data.transaction_identification
    if data.debtor_account is not None:
        consent["debtorAccount"] = account_body(data.debtor_account)
    return consent


def payment_data_from_consent(consent: Any, *, amount: Any = None, currency: Any = None) -> PaymentData:
    payment = need(consent, "payment")
    details = need(payment, "details")
    schedule = payment.get("schedule") or {}
    single = schedule.get("single") if isinstance(schedule, dict) else None
    customer = document_from(need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing loggedUser.document.identification")
    debtor = consent.get("debtorAccount")
    return PaymentData(
        amount=amount_from(amount if amount is not None else need(payment, "amount")),
        currency=str(currency or payment.get("currency") or "BRL"),
        local_instrument=str(need(details, "localInstrument")),
        creditor_account=account_from(need(details, "creditorAccount")),
        creditor_document=str(need(consent, "creditor", "cpfCnpj")),
        creditor_name=str(need(consent, "creditor", "name")),
        customer_document=customer,
        business_document=document_from(consent.get("businessDocumentType")),
        debtor_account=account_from(debtor) if debtor else None,
        proxy=details.get("proxy") or None,
        qr_code=details.get("qrCode") or None,
        transaction_identification=payment.get("transactionIdentification") or None,
        payment_date=date_from(single.get("date")) if isinstance(single, dict) else None,
        consent=consent_info_from(consent),
    )
