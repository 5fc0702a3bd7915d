"""``status`` and ``cancel``: ``POST /find`` (FindPixPayment) and ``POST /cancellation`` (CancellationPixPayment),
which name a payment by opusof's ids and its consent."""

import uuid
from dataclasses import dataclass
from typing import Any

from connectors.http.contract.consent import consent_body, consent_info_from, recurring_terms_from
from connectors.http.contract.wire import (
    CANCEL_STATUS,
    END_TO_END_ID_KEY,
    OPUSOF_PAYMENT_ID_KEY,
    ContractError,
    account_from,
    document_body,
    document_from,
    document_rel,
    is_recurring_request,
    need,
    payment_type,
)
from connectors.interfaces import (
    AccountRef,
    ConsentInfo,
    PaymentContext,
)

_CANCELLATION_NAMESPACE = uuid.UUID("0b5d6f3e-2f55-4b8e-8f7c-5a6b1d1c9e21")


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
        "consent": consent_body(data, meta["brandId"]) if data is not None else {"brandId": meta["brandId"]},
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
        data["cancellation"] = {"cancelledBy": document_body(context.cancelled_by, document_rel(context.cancelled_by))}
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
    consent = need(body, "consent")
    recurring = is_recurring_request(body)
    terms = recurring_terms_from(consent, consent["recurringConfiguration"]) if recurring else None
    debtor = consent.get("debtorAccount")
    cancelled_by = (((body.get("requestBody") or {}).get("data") or {}).get("cancellation") or {}).get("cancelledBy")
    return PaymentLookup(
        payment_id=payment_id,
        end_to_end_id=end_to_end_id,
        recurring=recurring,
        consent=consent_info_from(consent, terms),
        customer_document=document_from(consent.get("loggedUser")),
        business_document=document_from(consent.get("businessDocumentType")),
        debtor_account=account_from(debtor) if debtor else None,
        cancelled_by=document_from(cancelled_by),
    )


def payment_ids_from_request(body: Any) -> tuple[str, str]:
    ids = need(body, "paymentId")
    if not isinstance(ids, list):
        raise ContractError("paymentId must be a list")
    pairs = {item.get("key"): item.get("value") for item in ids if isinstance(item, dict)}
    if not pairs.get(OPUSOF_PAYMENT_ID_KEY) or not pairs.get(END_TO_END_ID_KEY):
        raise ContractError(f"paymentId needs {OPUSOF_PAYMENT_ID_KEY} and {END_TO_END_ID_KEY}")
    return str(pairs[OPUSOF_PAYMENT_ID_KEY]), str(pairs[END_TO_END_ID_KEY])
