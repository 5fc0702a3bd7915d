"""The Belvo dialect end to end over real HTTP, on the same merchant domain as Efí's."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from merchant.models import Plan
from merchant.services.merchants import merchant_configure
from merchant.services.plans import plans_sync_open
from merchant.services.webhooks import webhooks_deliver
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.merchant.conftest import REDIRECT_URL, WEBHOOK_SECRET, EfiMerchant, MerchantWebhookServer, json_of
from tests.support.payment_bodies import ANA_CPF, MERCHANT_CNPJ

pytestmark = pytest.mark.django_db(transaction=True)

INTENTS = "/payments/br/payment-intents/"
CALLBACK = "https://loja.example.com/checkout/3487321"


def intent_body(schedule: dict[str, Any], amount: str = "25.00") -> dict[str, Any]:
    from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID

    return {
        "amount": amount,
        "description": "Clube do livro",
        "statement_description": "Loja Exemplo - Clube",
        "allowed_payment_method_types": ["open_finance"],
        "external_id": "2c75c041-9cc7-430a-84e9-3b234aae76a2",
        "confirm": True,
        "customer": {"identifier": ANA_CPF, "name": "Ana"},
        "payment_method_details": {
            "open_finance": {
                "payer_institution": OWN_AUTHORISATION_SERVER_ID,
                "callback_url": CALLBACK,
                "schedule": schedule,
                "beneficiary_bank_account": {
                    "holder": {"name": "Loja Exemplo Comercio Ltda", "identifier": MERCHANT_CNPJ},
                    "institution": "12345678",
                    "agency": "0001",
                    "number": "90000001",
                    "account_type": "CACC",
                },
            }
        },
    }


@pytest.fixture
def belvo(efi: EfiMerchant) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=efi.http.base_url, timeout=60, auth=(efi.merchant.client_id, efi.secret))
    yield client
    client.close()


def _errors(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()
    assert set(error) == {"code", "message", "request_id", "field"} and error["code"] == code
    return error


def test_intent_charges_cancel_one_then_all_with_bearer_webhooks(
    efi: EfiMerchant, belvo: httpx.Client, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    merchant_configure(
        merchant=efi.merchant,
        redirect_url=REDIRECT_URL,
        webhook_url=merchant_webhook.url,
        webhook_security="hmac",
        webhook_secret=WEBHOOK_SECRET,
    )
    start = business_date() + dt.timedelta(days=2)
    body = intent_body({"daily": {"start_date": start.isoformat(), "occurrences": 3}})
    created = belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "intent-1"})
    assert created.status_code == 201, created.text
    intent = created.json()
    assert intent["status"] == "REQUIRES_ACTION" and len(intent["charges"]) == 3
    assert belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "intent-1"}).json()["id"] == intent["id"]

    redirect = intent["payment_method_information"]["open_finance"]["redirect_url"]
    assert efi.authorise(redirect) == f"{CALLBACK}?result=success"
    plans_sync_open()
    read = belvo.get(f"{INTENTS}{intent['id']}/")
    assert read.json()["status"] == "SCHEDULED"
    charges = belvo.get(f"{INTENTS}{intent['id']}/charges/").json()
    assert charges["count"] == 3 and [c["status"] for c in charges["results"]] == ["SCHEDULED"] * 3

    first = charges["results"][0]["id"]
    cancelled = belvo.post(f"{INTENTS}{intent['id']}/charges/{first}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELED", cancelled.text
    plan = Plan.objects.get(pk=intent["id"])
    at_holder = PixPayment.objects.filter(consent__consent_id=plan.consent_id)
    assert sorted(at_holder.values_list("status", flat=True)) == ["CANC", "SCHD", "SCHD"]

    whole = belvo.post(f"{INTENTS}{intent['id']}/cancel/")
    assert whole.status_code == 204, whole.text
    assert at_holder.filter(status="CANC").count() == 3
    assert belvo.get(f"{INTENTS}{intent['id']}/").json()["status"] == "CANCELED"
    _errors(belvo.post(f"{INTENTS}{intent['id']}/cancel/"), 422, "cancellation_not_allowed")

    # intent: SCHEDULED, CANCELED; charges: 3 x SCHEDULED, 3 x CANCELED
    assert webhooks_deliver() == 8
    for raw, headers in merchant_webhook.received:
        assert headers["authorization"] == f"Bearer {WEBHOOK_SECRET}"
    updates = [(json_of(raw)["webhook_type"], json_of(raw)["data"]["status"]) for raw, _ in merchant_webhook.received]
    assert updates.count(("CHARGES", "CANCELED")) == 3 and updates.count(("PAYMENT_INTENTS", "CANCELED")) == 1


def test_refusals_in_belvo_words(efi: EfiMerchant, belvo: httpx.Client):
    today = business_date()
    key = {"Belvo-Idempotency-Key": "k1"}
    error = _errors(
        belvo.post(INTENTS, json=intent_body({"single": {"date": today.isoformat()}}), headers=key),
        422,
        "invalid_schedule",
    )
    assert "D+1" in error["message"]
    body = intent_body({"daily": {"start_date": (today + dt.timedelta(days=1)).isoformat(), "occurrences": 61}})
    _errors(belvo.post(INTENTS, json=body, headers=key), 422, "invalid_schedule")
    body = intent_body(
        {"weekly": {"start_date": (today + dt.timedelta(days=1)).isoformat(), "day_of_week": "X", "occurrences": 2}}
    )
    assert _errors(belvo.post(INTENTS, json=body, headers=key), 400, "invalid")["field"].endswith("day_of_week")
    body = intent_body({"single": {"date": (today + dt.timedelta(days=3)).isoformat()}}, amount="1")
    assert _errors(belvo.post(INTENTS, json=body, headers=key), 400, "invalid")["field"] == "amount"
    _errors(belvo.post(INTENTS, json=intent_body({"single": {"date": "2030-01-01"}})), 400, "invalid")
    _errors(belvo.get(f"{INTENTS}nao-existe/"), 404, "not_found")
    _errors(httpx.get(f"{efi.http.base_url}{INTENTS}", auth=("x", "y")), 401, "authentication_failed")
    assert not Plan.objects.exists()
