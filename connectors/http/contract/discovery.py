"""``discovery``: ``POST /account-discovery`` (DiscoverAccounts: 200 ``{"data": {"resources": [...]}}``)."""

from typing import Any

from connectors.http.contract.consent import consent_head, consent_info_from, recurring_terms_from
from connectors.http.contract.wire import (
    PAYMENT_TYPE,
    RECURRING_PAYMENT_TYPE,
    ContractError,
    account_body,
    account_from,
    document_from,
    is_recurring_request,
    need,
)
from connectors.interfaces import (
    ConsentInfo,
    DiscoveredAccount,
)


def discovery_request(
    *, customer_document: str, business_document: str | None, meta: dict[str, str], consent: ConsentInfo | None = None
) -> dict[str, Any]:
    """DiscoveryAccountsPayment. Only the logged user (and the business they act for) is always known; a recurring
    consent goes out whole (ConsentRecurringPaymentDiscoveryAccountsPayment), a payment consent with its
    ``tpp``/``externalId``/times (its payment is not known to the discovery capability)."""
    body = consent_head(
        consent, brand_id=meta["brandId"], customer_document=customer_document, business_document=business_document
    )
    terms = consent.recurring if consent else None
    kind = RECURRING_PAYMENT_TYPE if terms is not None else PAYMENT_TYPE
    return {"requestMeta": meta, "paymentType": kind, "consent": body}


def discovery_params_from_request(body: Any) -> tuple[str, str | None]:
    consent = need(body, "consent")
    customer = document_from(need(consent, "loggedUser"))
    if customer is None:
        raise ContractError("missing consent.loggedUser.document.identification")
    return customer, document_from(consent.get("businessDocumentType"))


def discovery_consent_from_request(body: Any) -> ConsentInfo | None:
    """The consent a discovery is made for, when the request names one."""
    consent = need(body, "consent")
    terms = recurring_terms_from(consent, consent["recurringConfiguration"]) if is_recurring_request(body) else None
    return consent_info_from(consent, terms)


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
                "debtorAccount": account_body(ref),
            }
        )
    return {"data": {"resources": resources}}


def discovered_accounts_from_response(body: Any) -> list[DiscoveredAccount]:
    resources = need(body, "data", "resources")
    if not isinstance(resources, list):
        raise ContractError("data.resources must be a list")
    found = []
    for resource in resources:
        names = {item.get("key"): item.get("value") for item in resource.get("resourceName") or []}
        authorizers = resource.get("authorizers") or [{}]
        found.append(
            DiscoveredAccount(
                account=account_from(need(resource, "debtorAccount")),
                holder_name=str(names.get("holderName") or authorizers[0].get("name") or ""),
                holder_document=str(names.get("holderDocument") or authorizers[0].get("cpf") or ""),
                # Only accounts available for payment are returned (spec FAQ, "Sobre Descoberta de Recursos").
                may_pay=True,
            )
        )
    return found
