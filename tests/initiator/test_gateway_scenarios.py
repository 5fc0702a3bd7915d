"""The sandbox scenarios through the gateway (application → gateway → our holder → sandbox bank, real HTTP):
scheduled then cancelled, refused consent, 422 payment, pending that settles later, webhooks to the application."""

import datetime as dt
from typing import Any

import pytest

from connectors.models import SandboxPayment
from consents.models import PaymentConsent
from initiator.models import ApplicationNotification, InitiatorConsent, InitiatorPayment
from initiator.services.notifications import notifications_deliver
from initiator.services.sync import poll_open
from opusof.outbox.services import outbox_claim_due, webhook_deliver
from opusof.timeutil import business_date
from payments.models import PixPayment
from payments.tasks import poll_payment_status
from tests.initiator.conftest import CALLBACK, Gateway
from tests.initiator.spec_check import assert_data_matches
from tests.support.payment_bodies import consent_data, payment_item
from tests.support.payments_v4 import cancel_body

pytestmark = pytest.mark.django_db(transaction=True)

PIX = "/pix/payments"
PIX_ONE = "/pix/payments/{paymentId}"


def test_scheduled_payment_then_cancelled_through_the_proxy(gateway: Gateway):
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = gateway.authorise(data)
    response = gateway.pay(consent_id, [payment_item(data, day=day)], key="sched-1")
    assert response.status_code == 201, response.text
    assert_data_matches(response.json(), path=PIX, method="post", status=201)
    payment_id = response.json()["data"][0]["paymentId"]
    assert response.json()["data"][0]["status"] == "SCHD"

    cancelled = gateway.http.patch(
        f"/proxy/open-banking/payments/v4/pix/payments/{payment_id}",
        json=cancel_body("12345678909"),
        headers=gateway.headers(),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert_data_matches(cancelled.json(), path=PIX_ONE, method="patch", status=200)
    assert cancelled.json()["data"]["status"] == "CANC"
    payment = InitiatorPayment.objects.get(payment_id=payment_id)
    assert [(h.from_status, h.to_status) for h in payment.history.all()] == [("SUBMITTING", "SCHD"), ("SCHD", "CANC")]
    assert PixPayment.objects.get(payment_id=payment_id).status == "CANC"


def test_refused_consent_returns_the_error_to_the_callback(gateway: Gateway):
    # a version the holder does not serve: the newest it serves (yml RegulatoryVersion)
    created = gateway.create_consent(consent_data(), **{"x-regulatory-v": "5.0.0"})
    assert created.headers["x-selected-regulatory-v"] == "4.0.0"
    assert created.status_code == 201, created.text
    consent_id = created.json()["data"]["consentId"]
    back = gateway.follow_return(gateway.customer_decides(created.json()["data"]["redirectUrl"], action="deny"))
    assert back.status_code == 302
    location = back.headers["location"]
    assert location.startswith(f"{CALLBACK}?result=error&error=access_denied"), location
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert consent.status == "REJECTED"
    assert consent.history.get().reason.startswith("REJEITADO_USUARIO")
    assert not consent.access_token


def test_holder_refusal_422_comes_back_with_the_holders_code(gateway: Gateway):
    data = consent_data(amount="20422.00")
    consent_id = gateway.authorise(data)
    item = payment_item(data)
    response = gateway.pay(consent_id, [item], key="refused-1")
    assert response.status_code == 422, response.text
    assert response.headers["x-origin-error"] == "participant"
    assert response.headers["x-selected-regulatory-v"] == "4.0.0"
    assert [e["code"] for e in response.json()["errors"]] == ["PAGAMENTO_RECUSADO_DETENTORA"]
    # the same key answers the same, without a second call to the holder
    again = gateway.pay(consent_id, [item], key="refused-1")
    assert (again.status_code, again.json()) == (422, response.json())
    other = gateway.pay(consent_id, [payment_item(data)], key="refused-1")
    assert other.json()["errors"][0]["code"] == "ERRO_IDEMPOTENCIA"
    payment = InitiatorPayment.objects.get(idempotency_key="refused-1")
    assert payment.status == "RJCT"
    assert payment.calls.filter(operation="payment-create").count() == 1
    # the consent is read back at once; the gateway mirrors what the holder decided (the sandbox consumes it)
    holder_status = PaymentConsent.objects.get(consent_id=consent_id).status
    assert InitiatorConsent.objects.get(consent_id=consent_id).status == holder_status != "AUTHORISED"


def _deliver_holder_webhooks() -> int:
    """The holder's outbox, as its worker would run it: every due event POSTed to the registered webhook URI."""
    token, ids = outbox_claim_due()
    return sum(1 for event_id in ids if webhook_deliver(event_id=event_id, token=token))


def test_pending_payment_settles_later_and_each_change_reaches_the_application_once(
    gateway: Gateway, app_webhook: tuple[str, Any], eager_celery: None
):
    url, hook = app_webhook
    gateway.application.webhook_url = url
    gateway.application.save()
    data = consent_data(amount="12345.00")
    consent_id = gateway.authorise(data)
    response = gateway.pay(consent_id, [payment_item(data)], key="pending-1")
    assert response.status_code == 201, response.text
    payment_id = response.json()["data"][0]["paymentId"]
    assert response.json()["data"][0]["status"] == "PDNG"

    # the sandbox settles it once its delay has passed; the holder's poll finds it, its webhook pings us
    SandboxPayment.objects.filter(payment_id=payment_id).update(settle_after=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    poll_payment_status(payment_id)
    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    _deliver_holder_webhooks()
    payment = InitiatorPayment.objects.get(payment_id=payment_id)
    assert payment.status == "ACSC"
    assert "holder:webhook" in {h.actor for h in payment.history.all()}
    assert payment.calls.filter(operation="payment-get").exists()

    poll_open()  # the consent (CONSUMED at the holder) is read by the poller
    notifications_deliver()
    notifications_deliver()  # nothing left to send twice
    changes = [(n["data"]["id"], n["data"]["status"]) for n in hook.received]
    assert changes.count((payment_id, "PDNG")) == 1
    assert changes.count((payment_id, "ACSC")) == 1
    assert changes.count((consent_id, "AUTHORISED")) == 1
    assert changes.count((consent_id, "CONSUMED")) == 1
    assert len(changes) == len(set(changes))
    assert ApplicationNotification.objects.exclude(state="DELIVERED").count() == 0
    assert all(h.get("x-webhook-event-id") for h in hook.headers)
    assert {n["data"]["eventType"] for n in hook.received} == {"STATE_CHANGED"}


def test_a_daily_series_is_tracked_per_payment_and_cancelled_together(gateway: Gateway, eager_celery: None):
    data = consent_data(
        schedule={"daily": {"startDate": (business_date() + dt.timedelta(days=2)).isoformat(), "quantity": 3}}
    )
    consent_id = gateway.authorise(data)
    items = [payment_item(data, day=business_date() + dt.timedelta(days=2 + i)) for i in range(3)]
    response = gateway.pay(consent_id, items, key="series-1")
    assert response.status_code == 201, response.text
    ids = [p["paymentId"] for p in response.json()["data"]]
    assert len(set(ids)) == 3
    assert [gateway.get_payment(pid).json()["data"]["status"] for pid in ids] == ["SCHD"] * 3
    tracked = InitiatorPayment.objects.filter(consent__consent_id=consent_id).values_list("payment_id", flat=True)
    assert set(tracked) == set(ids) and len(tracked) == 3

    cancelled = gateway.http.patch(
        f"/proxy/open-banking/payments/v4/pix/payments/consents/{consent_id}",
        json=cancel_body("12345678909"),
        headers=gateway.headers(),
    )
    assert cancelled.status_code == 200, cancelled.text
    assert {p["paymentId"] for p in cancelled.json()["data"]} == set(ids)
    assert set(InitiatorPayment.objects.filter(payment_id__in=ids).values_list("status", flat=True)) == {"CANC"}
    assert PixPayment.objects.filter(payment_id__in=ids, status="CANC").count() == 3
