"""The merchant acceptance flow, one test per dialect, over real HTTP against our own holder with the sandbox clock
moved (docs/sandbox.md): create → the payer authorises in headless Chromium (login, pick the account, approve) →
the parcels are scheduled → the shop moves the clock to the first parcel's date through /sandbox/clock with its own
credentials → that parcel is executed at the holder and reads paid → a later parcel is cancelled → the listing shows
each parcel's status → the paid parcel is refunded (the money moves once at the sandbox bank) → every change reached
the shop's webhook exactly once, with the dialect's payload and security (Efí: HMAC; Belvo: bearer)."""

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.cache import cache
from playwright.sync_api import Route

from connectors.models import SandboxAccount, SandboxPixRefund
from initiator.services.registration import REDIRECT_PATH
from merchant.models import Plan, Refund, RefundStatus
from merchant.services.merchants import merchant_configure
from merchant.services.plans import plans_sync_open
from merchant.services.webhooks import webhooks_deliver
from opusof import clock
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.merchant.conftest import REDIRECT_URL, WEBHOOK_SECRET, EfiMerchant, MerchantWebhookServer, json_of
from tests.merchant.test_belvo_flow import CALLBACK, INTENTS, intent_body
from tests.merchant.test_efi_flow import PIX, plan_body
from tests.support.browser import login_and_review
from tests.support.merchant_refunds import MERCHANT_ACCOUNT_NUMBER
from tests.support.payment_bodies import ANA_CPF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _real_time_after() -> Iterator[None]:
    yield
    cache.delete(clock.CACHE_KEY)
    clock.forget_local()


def _holder_statuses(plan: Plan) -> list[str]:
    payments = PixPayment.objects.filter(consent__consent_id=plan.consent_id).order_by("scheduled_date")
    return list(payments.values_list("status", flat=True))


def _balance(number: str) -> Decimal:
    return SandboxAccount.objects.get(number=number).balance


def _authorise_in_chromium(browser: Any, redirect_uri: str, *, gateway: str, shot: str) -> str:
    """The payer opens the gateway's redirect URI in Chromium, logs in at the holder, picks Ana's account and
    approves; returns the shop URL the gateway then sends the browser to. The redirect URI registered at the holder
    is on the shop's host (merchant_create: the shop forwards it to the gateway), not resolvable here, so Chromium's
    requests to it are answered by the live server; the shop's own page is not served: the request the browser
    issues for it is the evidence."""
    page = browser.new_page()

    def by_the_live_server(route: Route) -> None:
        parts = urlsplit(route.request.url)
        route.fulfill(response=route.fetch(url=f"{gateway}{parts.path}?{parts.query}", max_redirects=0))

    page.route(f"*://{urlsplit(REDIRECT_URL).hostname}{REDIRECT_PATH}/**", by_the_live_server)
    login_and_review(page, redirect_uri, cpf=ANA_CPF, shot=shot)
    page.check("#account-10000001")
    # the holder, the live server and the forwarded redirect URI are plain HTTP here; the shop is the first HTTPS URL
    with page.expect_request(lambda request: request.url.startswith("https://")) as back_at_the_shop:
        page.click("#consent-button", no_wait_after=True)
    page.close()
    return str(back_at_the_shop.value.url)


@pytest.mark.browser
def test_efi_parcel_executed_on_its_date_when_the_clock_moves(
    efi: EfiMerchant, browser: Any, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    # The shop configures its redirect and its HMAC-signed webhook
    efi.http.put(
        "/v1/config",
        json={
            "redirectURL": REDIRECT_URL,
            "webhookURL": merchant_webhook.url,
            "webhookSecurity": {"type": "hmac", "hash": WEBHOOK_SECRET},
        },
    ).raise_for_status()
    # Create: a daily plan of three parcels from tomorrow
    today = business_date()
    start = today + dt.timedelta(days=1)
    created = efi.http.post(PIX, json=plan_body(start=start), headers={"x-idempotency-key": "relogio-1"})
    assert created.status_code == 200, created.text
    identifier = created.json()["identificadorPagamento"]
    # Authorise: the payer approves at our holder in Chromium and is sent back to the shop
    gateway = str(efi.http.base_url).rstrip("/")
    landed = _authorise_in_chromium(browser, created.json()["redirectURI"], gateway=gateway, shot="merchant-efi")
    assert landed == f"{REDIRECT_URL}?result=success"
    # Beat's sweep schedules the three parcels at the holder
    assert plans_sync_open() == 1
    plan = Plan.objects.get()
    assert _holder_statuses(plan) == ["SCHD"] * 3

    # Time moved: the shop moves the sandbox clock to the first parcel's date; that parcel is executed
    moved = efi.http.post("/sandbox/clock", json={"days": 1})
    assert moved.status_code == 200, moved.text
    assert moved.json()["today"] == start.isoformat() and moved.json()["offsetDays"] == 1
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "SCHD"]
    listing = {"inicio": today.isoformat(), "fim": today.isoformat()}
    parcels = efi.http.get(PIX, params=listing).json()["pagamentos"][0]["recorrencias"]
    assert [p["status"] for p in parcels] == ["efetivado", "agendado", "agendado"]
    late = efi.http.patch(f"{PIX}/{parcels[0]['endToEndId']}/cancelar")
    assert late.json()["nome"] == "cancelamento_nao_permitido"  # paid: past its cut-off

    # Cancel: the third parcel, still scheduled
    cancelled = efi.http.patch(f"{PIX}/{parcels[2]['endToEndId']}/cancelar")
    assert cancelled.status_code == 200, cancelled.text
    # List: each parcel's status
    [listed] = efi.http.get(PIX, params=listing).json()["pagamentos"]
    assert listed["status"] == "ativa"
    assert [p["status"] for p in listed["recorrencias"]] == ["efetivado", "agendado", "cancelado"]
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "CANC"]

    # Refund R$ 5.00 of the paid parcel: accepted pending, the merchant's bank returns the money once
    merchant_before, ana_before = _balance(MERCHANT_ACCOUNT_NUMBER), _balance("10000001")
    body = {"devolucoes": [{"endToEndId": parcels[0]["endToEndId"], "valor": "5.00"}]}
    refunded = efi.http.post(f"{PIX}/{identifier}/devolver", json=body, headers={"x-idempotency-key": "relogio-dev"})
    assert refunded.status_code == 202, refunded.text
    [item] = refunded.json()
    assert (item["endToEndId"], item["valor"], item["status"]) == (parcels[0]["endToEndId"], "5.00", "pendente")
    refund = Refund.objects.get()
    assert refund.refund_id == item["identificadorDevolucao"] and refund.status == RefundStatus.REFUNDED
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == merchant_before - 5 and _balance("10000001") == ana_before + 5
    assert SandboxPixRefund.objects.count() == 1
    [listed] = efi.http.get(PIX, params=listing).json()["pagamentos"]
    assert [(d["valor"], d["status"]) for d in listed["recorrencias"][0]["devolucoes"]] == [("5.00", "aceito")]

    # Webhooks — plan: ativa; parcels: 3 x agendado, 1 efetivado, 1 cancelado; the refund: aceito — each exactly
    # once, HMAC-signed
    assert webhooks_deliver() == 7
    assert webhooks_deliver() == 0
    received = merchant_webhook.received
    assert len(received) == 7 and len({headers["x-webhook-event-id"] for _, headers in received}) == 7
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
        + [("devolucao", "aceito", parcels[0]["endToEndId"])]
    )
    [refund_hook] = [json_of(raw) for raw, _ in received if json_of(raw)["tipo"] == "devolucao"]
    assert (refund_hook["identificadorPagamento"], refund_hook["identificadorDevolucao"], refund_hook["valor"]) == (
        identifier,
        refund.refund_id,
        "5.00",
    )


@pytest.fixture
def belvo(efi: EfiMerchant) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=efi.http.base_url, timeout=60, auth=(efi.merchant.client_id, efi.secret))
    yield client
    client.close()


@pytest.mark.browser
def test_belvo_charge_executed_on_its_date_when_the_clock_moves(
    efi: EfiMerchant, belvo: httpx.Client, browser: Any, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    # The shop's callback and its bearer-secured webhook
    merchant_configure(
        merchant=efi.merchant,
        redirect_url=REDIRECT_URL,
        webhook_url=merchant_webhook.url,
        webhook_security="hmac",
        webhook_secret=WEBHOOK_SECRET,
    )
    # Create: a payment intent of three daily charges from tomorrow
    start = business_date() + dt.timedelta(days=1)
    body = intent_body({"daily": {"start_date": start.isoformat(), "occurrences": 3}})
    created = belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "relogio-1"})
    assert created.status_code == 201, created.text
    intent = created.json()
    # Authorise: the payer approves at our holder in Chromium and is sent back to the shop's callback
    redirect_url = intent["payment_method_information"]["open_finance"]["redirect_url"]
    gateway = str(belvo.base_url).rstrip("/")
    landed = _authorise_in_chromium(browser, redirect_url, gateway=gateway, shot="merchant-belvo")
    assert landed == f"{CALLBACK}?result=success"
    # Beat's sweep schedules the three charges at the holder
    plans_sync_open()
    plan = Plan.objects.get()
    assert _holder_statuses(plan) == ["SCHD"] * 3

    # Time moved with the merchant's Basic credentials; the first charge is executed
    moved = belvo.post("/sandbox/clock", json={"advance": "P1D"})
    assert moved.status_code == 200, moved.text
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "SCHD"]
    charges = belvo.get(f"{INTENTS}{intent['id']}/charges/").json()["results"]
    assert [c["status"] for c in charges] == ["SUCCEEDED", "SCHEDULED", "SCHEDULED"]
    # Cancel: the third charge, still scheduled
    cancelled = belvo.post(f"{INTENTS}{intent['id']}/charges/{charges[2]['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELED", cancelled.text
    # List: each charge's status
    charges = belvo.get(f"{INTENTS}{intent['id']}/charges/").json()["results"]
    assert [c["status"] for c in charges] == ["SUCCEEDED", "SCHEDULED", "CANCELED"]
    assert belvo.get(f"{INTENTS}{intent['id']}/").json()["status"] == "SCHEDULED"
    assert _holder_statuses(plan) == ["ACSC", "SCHD", "CANC"]

    # Refund R$ 10.00 of the paid charge: PENDING in the answer, the merchant's bank returns the money once
    merchant_before, ana_before = _balance(MERCHANT_ACCOUNT_NUMBER), _balance("10000001")
    refunds_path = f"{INTENTS}{intent['id']}/charges/{charges[0]['id']}/refunds/"
    refunded = belvo.post(
        refunds_path,
        json={"amount": "10.00", "description": "Produto devolvido"},
        headers={"Belvo-Idempotency-Key": "relogio-r1"},
    )
    assert refunded.status_code == 201, refunded.text
    refund = refunded.json()
    assert (refund["status"], refund["amount"], refund["charge_id"]) == ("PENDING", "10.00", charges[0]["id"])
    assert Refund.objects.get().status == RefundStatus.REFUNDED
    assert belvo.get(refunds_path).json()["results"][0]["status"] == "SUCCEEDED"
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == merchant_before - 10 and _balance("10000001") == ana_before + 10
    assert SandboxPixRefund.objects.count() == 1

    # Webhooks — intent: SCHEDULED; charges: 3 x SCHEDULED, 1 SUCCEEDED, 1 CANCELED; the paid charge's transaction
    # OBJECT_CREATED; the refund: SUCCEEDED — each exactly once, bearer-authenticated
    assert webhooks_deliver() == 8
    assert webhooks_deliver() == 0
    received = merchant_webhook.received
    assert len(received) == 8 and len({headers["x-webhook-event-id"] for _, headers in received}) == 8
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
        + [("REFUNDS", "STATUS_UPDATE", "SUCCEEDED")]
    )
    [refund_hook] = [json_of(raw) for raw, _ in received if json_of(raw)["webhook_type"] == "REFUNDS"]
    assert refund_hook["object_id"] == refund["id"]
    assert refund_hook["data"] == {
        "status": "SUCCEEDED",
        "previous_status": "PENDING",
        "payment_intent_id": intent["id"],
        "charge_id": charges[0]["id"],
        "amount": "10.00",
    }
