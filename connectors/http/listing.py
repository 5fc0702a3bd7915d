"""``POST /opusof/payment-listing``: opusof's extension to the Opus connector contract, for reconciliation.

The contract (``spec/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``) has five routes and none lists the bank's
payments, so a bank that wants opusof to find a debit it has no record of (an orphan) serves this one too. It keeps
the contract's conventions: ``POST`` with ``requestMeta``, a JWS body (``application/jwt``), ``paymentId`` as the
contract's LegacyId list (``opusofPaymentId`` = the ``internalIdempotencyKey`` opusof sent), statuses of
EnumPaymentStatusType, RFC 3339 UTC times.

Request::

    {"requestMeta": {...}, "since": "2026-12-01T00:00:00Z", "cursor": "1234", "pageSize": 500}

``since`` (optional): payments created or changed at or after it. ``cursor`` (optional): the previous page's
``nextCursor``, opaque to opusof. Response ``200``::

    {"data": {"payments": [{"paymentId": [...], "endToEndId", "status", "payment": {"amount", "currency"},
                            "creationDateTime", "statusUpdateDateTime", "idempotencyKey",
                            "rejectionReason": {"code", "detail"}}],
              "nextCursor": "1734"}}

``nextCursor`` absent or null on the last page.
"""

import datetime as dt
from typing import Any

from connectors.http.contract.wire import (
    END_TO_END_ID_KEY,
    OPUSOF_PAYMENT_ID_KEY,
    UNDECIDED,
    ContractError,
    amount_from,
    datetime_from,
    need,
    rfc3339,
)
from connectors.interfaces import BankPaymentRecord, BankPaymentStatus

PAGE_SIZE = 500
_BANK_ID_KEY = "bankPaymentId"


def listing_request(*, since: dt.datetime | None, cursor: str | None, meta: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"requestMeta": meta, "pageSize": PAGE_SIZE}
    if since is not None:
        body["since"] = rfc3339(since)
    if cursor:
        body["cursor"] = cursor
    return body


def listing_params_from_request(body: Any) -> tuple[dt.datetime | None, str | None, int]:
    """(since, cursor, page size) of a listing request."""
    if not isinstance(body, dict):
        raise ContractError("body must be an object")
    size = body.get("pageSize") or PAGE_SIZE
    if not isinstance(size, int) or not 1 <= size <= 5000:
        raise ContractError("pageSize must be an integer from 1 to 5000")
    cursor = body.get("cursor")
    return datetime_from(body.get("since")), str(cursor) if cursor else None, size


def _record(item: BankPaymentRecord) -> dict[str, Any]:
    ids = [{"key": OPUSOF_PAYMENT_ID_KEY, "value": item.payment_id}]
    if item.bank_reference:
        ids.append({"key": _BANK_ID_KEY, "value": item.bank_reference})
    record: dict[str, Any] = {
        "paymentId": ids,
        END_TO_END_ID_KEY: item.end_to_end_id,
        "status": str(item.status),
        "payment": {"amount": f"{item.amount:.2f}", "currency": "BRL"},
        "creationDateTime": rfc3339(item.created_at),
        "statusUpdateDateTime": rfc3339(item.updated_at),
    }
    if item.idempotency_key:
        record["idempotencyKey"] = item.idempotency_key
    if item.rejection_code:
        record["rejectionReason"] = {"code": item.rejection_code, "detail": "-"}
    return record


def listing_response(records: list[BankPaymentRecord], next_cursor: str | None) -> dict[str, Any]:
    return {"data": {"payments": [_record(item) for item in records], "nextCursor": next_cursor}}


def _record_from(item: Any) -> BankPaymentRecord:
    ids = {pair.get("key"): pair.get("value") for pair in need(item, "paymentId") if isinstance(pair, dict)}
    if not ids.get(OPUSOF_PAYMENT_ID_KEY):
        raise ContractError(f"paymentId needs {OPUSOF_PAYMENT_ID_KEY}")
    raw = str(need(item, "status"))
    try:
        status = UNDECIDED.get(raw) or BankPaymentStatus(raw)
    except ValueError as exc:
        raise ContractError(f"unknown status {raw!r}") from exc
    created = datetime_from(need(item, "creationDateTime"))
    if created is None:
        raise ContractError("creationDateTime must not be empty")
    updated = datetime_from(item.get("statusUpdateDateTime")) or created
    return BankPaymentRecord(
        payment_id=str(ids[OPUSOF_PAYMENT_ID_KEY]),
        end_to_end_id=str(need(item, END_TO_END_ID_KEY)),
        status=status,
        amount=amount_from(need(item, "payment", "amount")),
        created_at=created,
        updated_at=updated,
        idempotency_key=str(item.get("idempotencyKey") or ""),
        rejection_code=(item.get("rejectionReason") or {}).get("code") or None,
        bank_reference=str(ids.get(_BANK_ID_KEY) or ""),
    )


def listing_from_response(body: Any) -> tuple[list[BankPaymentRecord], str | None]:
    """(records, next cursor) of one page; ContractError when the page breaks the shape above."""
    data = need(body, "data")
    items = need(data, "payments")
    if not isinstance(items, list):
        raise ContractError("data.payments must be a list")
    cursor = data.get("nextCursor")
    return [_record_from(item) for item in items], str(cursor) if cursor else None
