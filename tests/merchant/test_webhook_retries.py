"""Delivery policy per dialect: Belvo retries a failed webhook 3 times, 60 s apart, then gives up."""

import datetime as dt
import socket
from decimal import Decimal

import pytest
from django.utils import timezone

from merchant.models import MerchantWebhook, Plan
from merchant.services.merchants import merchant_create
from merchant.services.webhooks import webhooks_deliver


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db
def test_belvo_webhooks_are_retried_three_times_sixty_seconds_apart():
    merchant, _ = merchant_create(
        name="Loja", redirect_url="https://loja.example.com/r", webhook_url=f"http://127.0.0.1:{_closed_port()}/hook"
    )
    plan = Plan.objects.create(
        merchant=merchant,
        dialect="belvo",
        idempotency_key="k",
        request_hash="h",
        authorisation_server_id="as",
        payer_cpf="12345678909",
        creditor={},
        amount=Decimal("1.00"),
        recurrence="daily",
        schedule={},
        callback_url="https://loja.example.com/r",
    )
    row = MerchantWebhook.objects.create(merchant=merchant, plan=plan, body={"webhook_type": "PAYMENT_INTENTS"})
    for attempt in (1, 2, 3):
        before = timezone.now()
        assert webhooks_deliver() == 0
        row.refresh_from_db()
        assert (row.state, row.attempts) == ("PENDING", attempt)
        assert dt.timedelta(seconds=59) < row.next_attempt_at - before < dt.timedelta(seconds=61)
        assert webhooks_deliver() == 0 and MerchantWebhook.objects.get().attempts == attempt  # not due yet
        MerchantWebhook.objects.update(next_attempt_at=timezone.now())
    webhooks_deliver()
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("FAILED", 4)
