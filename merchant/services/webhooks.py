"""The merchant's webhooks: rows written in the transaction of the change they announce, rendered in the plan's
dialect; delivered at least once (leased rows, SKIP LOCKED) with the dialect's security (Efí: HMAC of the body or
mutual TLS; Belvo: bearer token), each attempt within 5 s, retried with each dialect's policy (Efí: the project's
webhook policy; Belvo: 3 retries 60 s apart)."""

import datetime as dt
import functools
import json
import ssl

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from merchant import dialects
from merchant.models import Merchant, MerchantWebhook, Parcel, Plan, Refund, WebhookState

EVENT_ID_HEADER = "x-webhook-event-id"
TIMEOUT_SECONDS = 5.0  # Belvo's documented timeout; Efí's too
LEASE = dt.timedelta(seconds=30)


def webhook_record(*, plan: Plan, parcel: Parcel | None = None, previous: str) -> None:
    """Called by the status writers only (merchant/services/plans.py), inside their transaction. A change the
    dialect does not tell apart (RCVD → PDNG are both Efí's ``pendente``) is not announced."""
    merchant = plan.merchant
    if not merchant.webhook_url:
        return
    for body in dialects.renderer(plan.dialect).webhook_bodies(plan, parcel, previous):
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


@functools.cache
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # built once: loading the trust store on every delivery costs ~1 s


@functools.cache
def _mtls_context(cert: str, key: str, ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle or None)
    context.load_cert_chain(cert, key or None)
    return context


def _transport(merchant: Merchant, dialect: str) -> ssl.SSLContext:
    """The TLS of one delivery: mutual TLS (MERCHANT_WEBHOOK_CLIENT_CERT_PATH/KEY_PATH, the merchant's server
    verified against MERCHANT_WEBHOOK_CA_BUNDLE or the system's) when the dialect's setting asks for it."""
    if not dialects.renderer(dialect).webhook_mtls(merchant):
        return _default_context()
    cert = str(getattr(settings, "MERCHANT_WEBHOOK_CLIENT_CERT_PATH", ""))
    if not merchant.webhook_url.startswith("https://") or not cert:
        # Never sent unauthenticated: the merchant relies on the certificate instead of an HMAC.
        raise ValueError("webhook mTLS requires an https URL and MERCHANT_WEBHOOK_CLIENT_CERT_PATH")
    return _mtls_context(
        cert,
        str(getattr(settings, "MERCHANT_WEBHOOK_CLIENT_KEY_PATH", "")),
        str(getattr(settings, "MERCHANT_WEBHOOK_CA_BUNDLE", "")),
    )


def _send(row: MerchantWebhook) -> tuple[bool, str]:
    raw = json.dumps(row.body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {
        "content-type": "application/json",
        EVENT_ID_HEADER: str(row.pk),
        **dialects.renderer(row.plan.dialect).webhook_headers(row.merchant, raw),
    }
    try:
        verify = _transport(row.merchant, row.plan.dialect)
        with httpx.Client(timeout=TIMEOUT_SECONDS, verify=verify, follow_redirects=False) as client:
            response = client.post(row.merchant.webhook_url, content=raw, headers=headers)
    except (httpx.HTTPError, ssl.SSLError, OSError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return 200 <= response.status_code < 300, f"HTTP {response.status_code}"


def webhooks_deliver(limit: int = 100) -> int:
    """POSTs what is due; 2xx is delivered, anything else is retried until the attempts run out."""
    delivered = 0
    for row in _claim(limit):
        ok, error = _send(row)
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
