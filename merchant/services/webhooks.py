"""The merchant's webhooks: one row per status change, written in the transaction of the change and rendered in
the plan's dialect; delivered at least once (leased rows, SKIP LOCKED) with the dialect's security, retried with
each dialect's retry policy (Efí: the project's webhook policy; Belvo: 3 retries 60 s apart)."""

import datetime as dt
import json

import httpx
from django.db import transaction
from django.utils import timezone

from merchant import dialects
from merchant.models import MerchantWebhook, Parcel, Plan, Refund, WebhookState

EVENT_ID_HEADER = "x-webhook-event-id"
TIMEOUT_SECONDS = 5.0  # Belvo's documented timeout; Efí's too
LEASE = dt.timedelta(seconds=30)


def webhook_record(*, plan: Plan, parcel: Parcel | None = None, previous: str) -> None:
    """Called by the status writers only (merchant/services/plans.py), inside their transaction. A change the
    dialect does not tell apart (RCVD → PDNG are both Efí's ``pendente``) is not announced."""
    merchant = plan.merchant
    if not merchant.webhook_url:
        return
    body = dialects.renderer(plan.dialect).webhook_body(plan, parcel, previous)
    if body is None:
        return
    MerchantWebhook.objects.create(merchant=merchant, plan=plan, body=body)


def refund_webhook_record(*, refund: Refund, previous: str) -> None:
    """webhook_record for a refund (merchant/services/refunds.py), in the plan's dialect."""
    plan = refund.parcel.plan
    merchant = plan.merchant
    if not merchant.webhook_url:
        return
    body = dialects.renderer(plan.dialect).refund_webhook_body(refund, previous)
    if body is None:
        return
    MerchantWebhook.objects.create(merchant=merchant, plan=plan, body=body)


def _claim(limit: int) -> list[MerchantWebhook]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            MerchantWebhook.objects.select_for_update(skip_locked=True)
            .select_related("merchant", "plan")
            .filter(state=WebhookState.PENDING, next_attempt_at__lte=now)
            .order_by("created_at")[:limit]
        )
        # Leased: another worker skips them until the lease ends (a crash mid-delivery retries later).
        MerchantWebhook.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=now + LEASE)
    return rows


def webhooks_deliver(limit: int = 100) -> int:
    """POSTs what is due; 2xx is delivered, anything else is retried until the attempts run out."""
    delivered = 0
    for row in _claim(limit):
        raw = json.dumps(row.body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "content-type": "application/json",
            EVENT_ID_HEADER: str(row.pk),
            **dialects.renderer(row.plan.dialect).webhook_headers(row.merchant, raw),
        }
        try:
            response = httpx.post(row.merchant.webhook_url, content=raw, headers=headers, timeout=TIMEOUT_SECONDS)
            ok, error = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, str(exc)
        attempts = row.attempts + 1
        if ok:
            MerchantWebhook.objects.filter(pk=row.pk).update(
                state=WebhookState.DELIVERED, attempts=attempts, delivered_at=timezone.now(), last_error=""
            )
            delivered += 1
            continue
        delay = dialects.renderer(row.plan.dialect).webhook_retry(attempts)
        MerchantWebhook.objects.filter(pk=row.pk).update(
            state=WebhookState.FAILED if delay is None else WebhookState.PENDING,
            attempts=attempts,
            last_error=error[:1024],
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay or 0),
        )
    return delivered
