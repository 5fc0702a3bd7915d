"""Each dialect over real HTTP with the sandbox clock moved (docs/sandbox.md): create → the payer authorises →
the parcels are scheduled → the shop moves the clock to the first parcel's date through /sandbox/clock with its own
credentials → that parcel is executed at the holder and reads paid → a later parcel is cancelled → the listing shows
each parcel's status → every change reached the shop's webhook exactly once."""

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from django.core.cache import cache

from merchant.models import Plan
from merchant.services.merchants import merchant_configure
from merchant.services.plans import plans_sync_open
from merchant.services.webhooks import webhooks_deliver
from opusof import clock
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.merchant.conftest import REDIRECT_URL, WEBHOOK_SECRET, EfiMerchant, MerchantWebhookServer, json_of
from tests.merchant.test_belvo_flow import CALLBACK, INTENTS, intent_body
from tests.merchant.test_efi_flow import PIX, plan_body

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _real_time_after() -> Iterator[None]:
    yield
    cache.delete(clock.CACHE_KEY)
    clock.forget_local()


def _holder_statuses(plan: Plan) -> list[str]:
    payments = PixPayment.objects.filter(consent__consent_id=plan.consent_id).order_by("scheduled_date")
    return list(payments.values_list("status", flat=True))


def test_efi_parcel_executed_on_its_date_when_the_clock_moves(
    efi: EfiMerchant, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    efi.http.put(
        "/v1/config",
        json={
            "redirectURL": REDIRECT_URL,
            "webhookURL": merchant_webhook.url,
            "webhookSecurity": {"type": "hmac", "hash": WEBHOOK_SECRET},
        },
    ).raise_for_status()
    today = business_date()
    start = today + dt.timedelta(days=1)
    created = efi.http.post(PIX, json=plan_body(start=start), headers={"x-idempotency-key": "relogio-1"})
    assert created.status_code == 200, created.text
    assert efi.authorise(created.json()["redirectURI"]) == f"{REDIRECT_URL}?result=success"
    assert plans_sync_open() == 1
    plan = Plan.objects.get()
    assert _holder_statuses(plan) == ["SCHD"] * 3

    moved = efi.http.post("/sandbox/clock", json={"days": 1})

    assert moved.status_code == 200, moved.text
    assert moved.json()["today"] == start.isoformat() and moved.json()["offsetDays"] == 1
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "SCHD"]
    listing = {"inicio": today.isoformat(), "fim": today.isoformat()}
    parcels = efi.http.get(PIX, params=listing).json()["pagamentos"][0]["recorrencias"]
    assert [p["status"] for p in parcels] == ["efetivado", "agendado", "agendado"]
    late = efi.http.patch(f"{PIX}/{parcels[0]['endToEndId']}/cancelar")
    assert late.json()["nome"] == "cancelamento_nao_permitido"  # paid: past its cut-off

    cancelled = efi.http.patch(f"{PIX}/{parcels[2]['endToEndId']}/cancelar")
    assert cancelled.status_code == 200, cancelled.text
    [listed] = efi.http.get(PIX, params=listing).json()["pagamentos"]
    assert listed["status"] == "ativa"
    assert [p["status"] for p in listed["recorrencias"]] == ["efetivado", "agendado", "cancelado"]
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "CANC"]

    # plan: ativa; parcels: 3 x agendado, 1 efetivado, 1 cancelado — each exactly once, HMAC-signed
    assert webhooks_deliver() == 6
    assert webhooks_deliver() == 0
    received = merchant_webhook.received
    assert len(received) == 6 and len({headers["x-webhook-event-id"] for _, headers in received}) == 6
    for raw, headers in received:
        assert hmac.compare_digest(
            headers["x-efi-hmac-sha256"], hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        )
    events = sorted(
        (json_of(raw)["tipo"], json_of(raw)["status"], json_of(raw).get("endToEndId")) for raw, _ in received
    )
    assert events == sorted(
        [("recorrencia", "ativa", None)]
        + [("parcela", "agendado", p["endToEndId"]) for p in parcels]
        + [("parcela", "efetivado", parcels[0]["endToEndId"]), ("parcela", "cancelado", parcels[2]["endToEndId"])]
    )


@pytest.fixture
def belvo(efi: EfiMerchant) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=efi.http.base_url, timeout=60, auth=(efi.merchant.client_id, efi.secret))
    yield client
    client.close()


def test_belvo_charge_executed_on_its_date_when_the_clock_moves(
    efi: EfiMerchant, belvo: httpx.Client, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    merchant_configure(
        merchant=efi.merchant,
        redirect_url=REDIRECT_URL,
        webhook_url=merchant_webhook.url,
        webhook_security="hmac",
        webhook_secret=WEBHOOK_SECRET,
    )
    start = business_date() + dt.timedelta(days=1)
    body = intent_body({"daily": {"start_date": start.isoformat(), "occurrences": 3}})
    created = belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "relogio-1"})
    assert created.status_code == 201, created.text
    intent = created.json()
    assert efi.authorise(intent["payment_method_information"]["open_finance"]["redirect_url"]) == (
        f"{CALLBACK}?result=success"
    )
    plans_sync_open()
    plan = Plan.objects.get()
    assert _holder_statuses(plan) == ["SCHD"] * 3

    moved = belvo.post("/sandbox/clock", json={"advance": "P1D"})  # the merchant's Basic credentials

    assert moved.status_code == 200, moved.text
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "SCHD"]
    charges = belvo.get(f"{INTENTS}{intent['id']}/charges/").json()["results"]
    assert [c["status"] for c in charges] == ["SUCCEEDED", "SCHEDULED", "SCHEDULED"]
    cancelled = belvo.post(f"{INTENTS}{intent['id']}/charges/{charges[2]['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELED", cancelled.text
    charges = belvo.get(f"{INTENTS}{intent['id']}/charges/").json()["results"]
    assert [c["status"] for c in charges] == ["SUCCEEDED", "SCHEDULED", "CANCELED"]
    assert belvo.get(f"{INTENTS}{intent['id']}/").json()["status"] == "SCHEDULED"
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "CANC"]

    # intent: SCHEDULED; charges: 3 x SCHEDULED, 1 SUCCEEDED, 1 CANCELED; the paid charge's transaction
    # OBJECT_CREATED — each exactly once, bearer-authenticated
    assert webhooks_deliver() == 7
    assert webhooks_deliver() == 0
    received = merchant_webhook.received
    assert all(headers["authorization"] == f"Bearer {WEBHOOK_SECRET}" for _, headers in received)
    updates = sorted(
        (json_of(raw)["webhook_type"], json_of(raw)["webhook_code"], json_of(raw)["data"].get("status", ""))
        for raw, _ in received
    )
    assert updates == sorted(
        [("PAYMENT_INTENTS", "STATUS_UPDATE", "SCHEDULED")]
        + [("CHARGES", "STATUS_UPDATE", "SCHEDULED")] * 3
        + [("CHARGES", "STATUS_UPDATE", "SUCCEEDED"), ("CHARGES", "STATUS_UPDATE", "CANCELED")]
        + [("TRANSACTIONS", "OBJECT_CREATED", "")]
    )
