"""What every route of the contract shares: the routes, the constants of the wire, the error a malformed body
raises, and the small pieces (money, accounts, documents, dates) the route modules build and parse with."""

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.interfaces import (
    AccountRef,
    AccountType,
    BankPaymentStatus,
    PaymentData,
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
UNDECIDED = {"RCVD": BankPaymentStatus.PDNG, "PATC": BankPaymentStatus.PDNG}


class ContractError(ValueError):
    """A body that does not follow the route contract (missing or malformed field)."""


def request_meta(correlation_id: str | None, brand_id: str) -> dict[str, str]:
    """RequestMeta: ``correlationId`` must be a UUID (optionally ``localID:``-prefixed); the request's
    x-fapi-interaction-id is one, otherwise a fresh one is made so the bank can still trace the call."""
    try:
        correlation = str(uuid.UUID(correlation_id)) if correlation_id else str(uuid.uuid4())
    except ValueError:
        correlation = str(uuid.uuid4())
    return {"correlationId": correlation, "brandId": brand_id}


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def account_body(ref: AccountRef) -> dict[str, str]:
    body = {"ispb": ref.ispb, "number": ref.number, "accountType": str(ref.account_type)}
    if ref.issuer:
        body["issuer"] = ref.issuer
    return body


def account_from(body: Any) -> AccountRef:
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


def document_body(identification: str, rel: str) -> dict[str, dict[str, str]]:
    return {"document": {"identification": identification, "rel": rel}}


def document_from(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    document = body.get("document")
    return str(document["identification"]) if isinstance(document, dict) and "identification" in document else None


def amount_from(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError) as exc:
        raise ContractError(f"invalid amount {value!r}") from exc


def date_from(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ContractError(f"invalid date {value!r}") from exc


def need(body: Any, *path: str) -> Any:
    node = body
    for key in path:
        if not isinstance(node, dict) or key not in node:
            raise ContractError(f"missing {'.'.join(path)}")
        node = node[key]
    return node


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def datetime_from(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ContractError(f"invalid date-time {value!r}") from exc
    if parsed.tzinfo is None:
        raise ContractError(f"date-time without time zone {value!r}")
    return parsed


def person(document: str, name: str) -> dict[str, str]:
    """Identification / Creditors item: CPF (11 digits) is a natural person, anything else a legal one."""
    return {
        "personType": "PESSOA_NATURAL" if len(document) == 11 else "PESSOA_JURIDICA",
        "cpfCnpj": document,
        "name": name,
    }


def document_rel(document: str) -> str:
    return "CPF" if len(document) == 11 else "CNPJ"


def payment_type(data: PaymentData | None) -> str:
    """The route variant a payment goes out as: recurring when its consent is a recurring one."""
    return RECURRING_PAYMENT_TYPE if data and data.consent and data.consent.recurring else PAYMENT_TYPE


def is_recurring_request(body: Any) -> bool:
    """The variant of a route's request: ``paymentType`` at the top, or inside ``requestBody`` for validation."""
    if not isinstance(body, dict):
        return False
    request_body = body.get("requestBody")
    kind = body.get("paymentType") or (request_body.get("paymentType") if isinstance(request_body, dict) else None)
    return bool(kind == RECURRING_PAYMENT_TYPE)
