"""The merchant's webhooks as each dialect secures and words them: Efí over mutual TLS (our client certificate,
the shop's server verified), Belvo's failure codes and TRANSACTIONS ``OBJECT_CREATED``, Belvo's 5 s timeout."""

import datetime as dt
import ssl
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from merchant.models import Merchant, MerchantWebhook, Parcel, ParcelStatus, Plan, PlanStatus
from merchant.services import webhooks
from merchant.services.merchants import merchant_create
from merchant.services.plans import parcel_move, plan_finish_if_done, plan_move
from tests.initiator.pki import Pki, make_pki
from tests.merchant.conftest import WEBHOOK_SECRET, MerchantWebhookServer, json_of
from tests.support.webhook_receiver import WebhookReceiver, serve

pytestmark = pytest.mark.django_db(transaction=True)


def _plan(merchant: Merchant, dialect: str, parcels: int = 1) -> Plan:
    plan = Plan.objects.create(
        merchant=merchant,
        dialect=dialect,
        idempotency_key="k",
        request_hash="h",
        authorisation_server_id="as",
        payer_cpf="12345678909",
        creditor={},
        amount=Decimal("9.90"),
        recurrence="daily",
        schedule={},
        callback_url="https://loja.example.com/r",
        consent_id="urn:banco:c1",
    )
    for n in range(1, parcels + 1):
        Parcel.objects.create(
            plan=plan,
            sequence=n,
            date=dt.date(2030, 1, n),
            amount=Decimal("9.90"),
            end_to_end_id=f"E1234567820300101150{n}abcdefghijk",
        )
    return plan


def _move(parcel: Parcel, status: str, reason: str = "") -> None:
    with transaction.atomic():
        locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
        parcel_move(locked, status, actor="bank:sync", reason=reason)


@pytest.fixture
def pki(tmp_path) -> Pki:
    return make_pki(tmp_path)


@pytest.fixture
def tls_receiver(pki: Pki) -> Iterator[WebhookReceiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    context.load_verify_locations(str(pki.ca))
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    yield from serve(WebhookReceiver(script=[200] * 10), tls=context)


def test_efi_webhooks_over_mutual_tls(settings: Any, pki: Pki, tls_receiver: WebhookReceiver, tmp_path):
    merchant, _ = merchant_create(
        name="Loja", redirect_url="https://loja.example.com/r", webhook_url=tls_receiver.base_url
    )
    Merchant.objects.filter(pk=merchant.pk).update(webhook_security="mtls")
    [parcel] = _plan(Merchant.objects.get(pk=merchant.pk), "efi").parcels.all()
    settings.MERCHANT_WEBHOOK_CLIENT_CERT_PATH = ""
    _move(parcel, ParcelStatus.SCHD)

    # Without our certificate nothing is sent (the shop relies on it instead of an HMAC)
    assert webhooks.webhooks_deliver() == 0
    row = MerchantWebhook.objects.get()
    assert row.state == "PENDING" and "MERCHANT_WEBHOOK_CLIENT_CERT_PATH" in row.last_error
    assert tls_receiver.received == []

    # A shop's server we cannot verify is not sent to either
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    settings.MERCHANT_WEBHOOK_CLIENT_CERT_PATH = str(pki.client_cert)
    settings.MERCHANT_WEBHOOK_CLIENT_KEY_PATH = str(pki.client_key)
    settings.MERCHANT_WEBHOOK_CA_BUNDLE = str(other.ca)
    MerchantWebhook.objects.update(next_attempt_at=row.created_at)
    assert webhooks.webhooks_deliver() == 0
    assert "CERTIFICATE_VERIFY_FAILED" in MerchantWebhook.objects.get().last_error
    assert tls_receiver.received == []

    # With our certificate, to the verified server: delivered, the client certificate seen, no HMAC header
    settings.MERCHANT_WEBHOOK_CA_BUNDLE = str(pki.ca)
    MerchantWebhook.objects.update(next_attempt_at=row.created_at)
    assert webhooks.webhooks_deliver() == 1
    [received] = tls_receiver.received
    assert tls_receiver.client_subjects[0]["commonName"] == "opus-iniciadora-transporte"
    assert "x-efi-hmac-sha256" not in received.headers
    assert received.json()["status"] == "agendado" and received.json()["tipo"] == "parcela"
    assert MerchantWebhook.objects.get().state == "DELIVERED"


def test_belvo_failure_codes_and_the_transaction_of_a_paid_charge(merchant_webhook: MerchantWebhookServer):
    merchant, _ = merchant_create(
        name="Loja",
        redirect_url="https://loja.example.com/r",
        webhook_url=merchant_webhook.url,
        webhook_secret=WEBHOOK_SECRET,
    )
    plan = _plan(merchant, "belvo", parcels=2)
    paid, refused = plan.parcels.order_by("sequence")
    with transaction.atomic():
        plan_move(Plan.objects.select_for_update().get(pk=plan.pk), PlanStatus.ACTIVE, actor="bank:payment-create")
    for parcel in (paid, refused):
        _move(parcel, ParcelStatus.SCHD)
    _move(paid, ParcelStatus.ACSC)
    _move(refused, ParcelStatus.RJCT, reason="SALDO_INSUFICIENTE")
    plan_finish_if_done(plan)

    assert webhooks.webhooks_deliver() == 7
    bodies = [json_of(raw) for raw, _ in merchant_webhook.received]
    assert all(h["authorization"] == f"Bearer {WEBHOOK_SECRET}" for _, h in merchant_webhook.received)
    kinds = [(b["webhook_type"], b["webhook_code"], b["data"].get("status")) for b in bodies]
    assert kinds == [
        ("PAYMENT_INTENTS", "STATUS_UPDATE", "SCHEDULED"),
        ("CHARGES", "STATUS_UPDATE", "SCHEDULED"),
        ("CHARGES", "STATUS_UPDATE", "SCHEDULED"),
        ("CHARGES", "STATUS_UPDATE", "SUCCEEDED"),
        ("TRANSACTIONS", "OBJECT_CREATED", None),
        ("CHARGES", "STATUS_UPDATE", "FAILED"),
        ("PAYMENT_INTENTS", "STATUS_UPDATE", "SCHEDULE_FINISHED"),
    ]
    transaction_created = bodies[4]
    assert transaction_created["data"] == {
        "payment_intent_id": str(plan.id),
        "charge_id": str(paid.id),
        "amount": "9.90",
        "end_to_end_id": paid.end_to_end_id,
    }
    assert transaction_created["external_id"] is None and transaction_created["object_id"] != str(paid.id)
    failed = bodies[5]["data"]
    assert failed["failure_code"] == "insufficient_funds" and "SALDO_INSUFICIENTE" not in str(bodies)
    assert failed["failure_message"] == "Saldo insuficiente na conta do pagador."


def test_a_belvo_webhook_waits_five_seconds_then_retries_in_sixty():
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            release.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        merchant, _ = merchant_create(name="Loja", redirect_url="https://loja.example.com/r", webhook_url=url)
        [parcel] = _plan(merchant, "belvo").parcels.all()
        _move(parcel, ParcelStatus.SCHD)
        started = time.monotonic()
        assert webhooks.webhooks_deliver() == 0
        elapsed = time.monotonic() - started
        row = MerchantWebhook.objects.get()
        assert 4.5 < elapsed < 8 and "Timeout" in row.last_error, (elapsed, row.last_error)
        assert (row.state, row.attempts) == ("PENDING", 1)
        assert dt.timedelta(seconds=55) < row.next_attempt_at - row.created_at < dt.timedelta(seconds=75)
    finally:
        release.set()
        server.shutdown()
        server.server_close()
