"""Charge schedules run by the initiator against our own holder (live server, real HTTP): a Pix Automático consent
approved on the holder's pages, three monthly charges each sent by the sweep inside its D-10..D-2 window (the
clock of both sides moved with time-machine), a charge cancelled by the application, and a charge over the
consent's limit reported without calling the holder."""

import datetime as dt
import itertools
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from connectors.sandbox.bank import SandboxBank
from initiator.models import HolderCall, ScheduledCharge
from initiator.services.charges import charges_send_due
from initiator.services.notifications import notifications_deliver
from initiator.services.sync import webhook_received
from opusof.timeutil import business_date, business_tz
from recurring.models import RecurringPayment
from recurring.services.charges import recurring_payment_poll_status
from tests.initiator.conftest import Gateway
from tests.initiator.test_automatic_payments import authorise_recurring, create_recurring
from tests.support.oauth_tpp import customer_decides
from tests.support.recurring_bodies import (
    BRUNO_ACCOUNT,
    BRUNO_CPF,
    automatic_consent,
    automatic_payment,
    sweeping_consent,
    sweeping_payment,
)

pytestmark = pytest.mark.django_db(transaction=True)

CONSENTS = "/opus-open-finance/automatic-payments/v1/recurring-consents"


def template(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("date", "payment", "endToEndId", "paymentReference")}


def register(gateway: Gateway, consent_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    response = gateway.http.post(f"{CONSENTS}/{consent_id}/charges", json={"data": data}, headers=gateway.headers())
    assert response.status_code == 201, response.text
    return list(response.json()["data"])


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=business_tz())


def sweep_on(day: dt.date) -> int:
    """Beat's sweep on ``day`` for both sides (the holder checks the window against its own clock). Cached
    client_credentials tokens live in Redis by real seconds, so they are dropped when the clock jumps."""
    cache.clear()
    with time_machine.travel(noon(day), tick=True):
        sent = charges_send_due()
        notifications_deliver()  # the notifications of that day, due by that day's clock
        return sent


def holder_charges(consent_id: str) -> list[RecurringPayment]:
    return list(RecurringPayment.objects.filter(consent__recurring_consent_id=consent_id).order_by("date"))


def test_three_monthly_charges_sent_in_their_windows_and_one_cancelled(gateway: Gateway, app_webhook):
    hook_url, hook = app_webhook
    gateway.application.webhook_url = hook_url
    gateway.application.save()
    today = business_date()
    consent_id = authorise_recurring(gateway, automatic_consent(maximum="500.00", reference_start=today))
    day_of_month = min((today + dt.timedelta(days=5)).day, 28)
    rule = {"dayOfMonth": day_of_month, "months": 4, "amount": "100.00"}
    charges = register(gateway, consent_id, {"payment": template(automatic_payment()), "rule": rule})
    dues = [dt.date.fromisoformat(c["dueDate"]) for c in charges]
    assert [d.day for d in dues] == [day_of_month] * 4
    assert [(b.year * 12 + b.month) - (a.year * 12 + a.month) for a, b in itertools.pairwise(dues)] == [1] * 3
    assert [c["reference"] for c in charges] == [f"M{d.month:02d}-{d.year}" for d in dues]

    cancelled = gateway.http.patch(
        f"/opus-open-finance/automatic-payments/v1/charges/{charges[3]['chargeId']}",
        json={"data": {"status": "CANCELLED"}},
        headers=gateway.headers(),
    )
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "CANCELLED", cancelled.text

    for index, due in enumerate(dues[:3]):
        opens = max(due - dt.timedelta(days=10), today)
        if opens > today:
            assert sweep_on(opens - dt.timedelta(days=1)) == 0  # before its window: nothing sent
        assert sweep_on(opens) == 1, ScheduledCharge.objects.get(pk=charges[index]["chargeId"]).last_error
        assert sweep_on(opens) == 0  # the next beat tick: already sent
        sent = holder_charges(consent_id)
        assert [p.date for p in sent] == dues[: index + 1]
        assert [p.status for p in sent][-1] == "SCHD"

    sweep_on(dues[3])
    assert len(holder_charges(consent_id)) == 3  # the cancelled one never reached the holder
    statuses = {c.due_date: c.status for c in ScheduledCharge.objects.all()}
    assert statuses == {dues[0]: "SENT", dues[1]: "SENT", dues[2]: "SENT", dues[3]: "CANCELLED"}
    assert HolderCall.objects.filter(operation="payment-create", status_code=201).count() == 3
    keys = set(HolderCall.objects.filter(operation="payment-create").values_list("idempotency_key", flat=True))
    assert len(keys) == 3 and all(key.startswith("chg-") and len(key) <= 40 for key in keys)

    charge_changes = [b["data"]["status"] for b in hook.received if b["data"]["type"] == "INITIATOR_CHARGE"]
    assert sorted(charge_changes) == ["CANCELLED", "SENT", "SENT", "SENT"]

    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client = Client()
    client.force_login(staff)
    page = client.get(f"/admin/initiator/scheduledcharge/{charges[0]['chargeId']}/change/")
    assert page.status_code == 200 and "SCHEDULED" in page.content.decode() and "beat" in page.content.decode()


def test_a_charge_over_the_consent_limits_is_reported_without_calling_the_holder(gateway: Gateway, app_webhook):
    hook_url, hook = app_webhook
    gateway.application.webhook_url = hook_url
    gateway.application.save()
    today = business_date()
    consent_id = authorise_recurring(gateway, sweeping_consent(total="300.00", periodic={"day": {"quantityLimit": 1}}))
    payment = template(sweeping_payment())
    charges = [
        {"amount": "100.00", "dueDate": today.isoformat(), "reference": "a"},
        {"amount": "50.00", "dueDate": today.isoformat(), "reference": "b"},  # a second one the same day
    ]
    first, second = register(gateway, consent_id, {"payment": payment, "charges": charges})
    calls = HolderCall.objects.filter(operation="payment-create")
    repeated = gateway.http.post(  # the application repeats its registration: no second charge of a period
        f"{CONSENTS}/{consent_id}/charges",
        json={"data": {"payment": payment, "charges": charges}},
        headers=gateway.headers(),
    )
    assert (repeated.status_code, repeated.json()["errors"][0]["code"]) == (422, "PARAMETRO_INVALIDO"), repeated.text
    assert ScheduledCharge.objects.count() == 2

    assert charges_send_due() == 1
    assert calls.count() == 1
    assert ScheduledCharge.objects.get(pk=first["chargeId"]).status == "PAID"  # a sweeping transfer settles at once
    refused = ScheduledCharge.objects.get(pk=second["chargeId"])
    assert refused.status == "LIMIT_REACHED"
    assert refused.last_error.startswith("LIMITE_PERIODO_QUANTIDADE_EXCEDIDO")
    assert list(refused.history.values_list("actor", flat=True)) == ["beat"]

    tomorrow = today + dt.timedelta(days=1)
    over_total = register(
        gateway,
        consent_id,
        {"payment": payment, "charges": [{"amount": "250.00", "dueDate": tomorrow.isoformat(), "reference": "c"}]},
    )[0]
    assert sweep_on(tomorrow) == 0
    assert calls.count() == 1  # never sent: 100 + 250 is over the consent's 300
    assert ScheduledCharge.objects.get(pk=over_total["chargeId"]).last_error.startswith(
        "LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"
    )
    listed = gateway.http.get(f"{CONSENTS}/{consent_id}/charges", headers=gateway.headers()).json()["data"]
    assert [c["status"] for c in listed] == ["PAID", "LIMIT_REACHED", "LIMIT_REACHED"]

    notifications_deliver()
    reported = [b["data"] for b in hook.received if b["data"]["type"] == "INITIATOR_CHARGE"]
    assert {(r["id"], r["status"]) for r in reported} >= {
        (second["chargeId"], "LIMIT_REACHED"),
        (over_total["chargeId"], "LIMIT_REACHED"),
    }


def test_a_charge_refused_for_insufficient_funds_is_retried_naming_the_original(gateway: Gateway):
    today = business_date()
    data = automatic_consent(cpf=BRUNO_CPF, maximum="500.00", reference_start=today)
    created = create_recurring(gateway, data)
    assert created.status_code == 201, created.text
    body = created.json()["data"]
    final = customer_decides(
        gateway.customer, body["redirectUrl"], cpf=BRUNO_CPF, action="approve", account=BRUNO_ACCOUNT["number"]
    )
    assert gateway.follow_return(str(final.headers["location"])).status_code == 302
    consent_id = body["recurringConsentId"]
    due = today + dt.timedelta(days=3)
    item = automatic_payment(day=due)
    [charge] = register(
        gateway,
        consent_id,
        {
            "payment": template(item),
            "charges": [{"amount": "100.00", "dueDate": due.isoformat(), "reference": item["paymentReference"]}],
        },
    )
    assert charges_send_due() == 1
    [original] = holder_charges(consent_id)

    # On its date the bank finds R$ 50.00 for a R$ 100.00 charge; the holder's ping makes the gateway read it.
    SandboxBank().force_settle(original.recurring_payment_id)
    recurring_payment_poll_status(recurring_payment_id=original.recurring_payment_id)
    assert RecurringPayment.objects.get(pk=original.pk).rejection_reason == "SALDO_INSUFICIENTE"
    assert webhook_received(kind="payment", resource_id=original.recurring_payment_id) == 1

    assert sweep_on(due) == 0  # refused: a retry waits for the day after the original's date
    stored = ScheduledCharge.objects.get(pk=charge["chargeId"])
    assert (stored.status, stored.original_payment_id) == ("RETRY_SCHEDULED", original.recurring_payment_id)
    assert sweep_on(due + dt.timedelta(days=1)) == 1
    retries = RecurringPayment.objects.filter(original_recurring_payment_id=original.recurring_payment_id)
    assert [(r.date, r.amount, r.payment_reference) for r in retries] == [
        (due + dt.timedelta(days=1), original.amount, original.payment_reference)
    ]
    assert ScheduledCharge.objects.get(pk=charge["chargeId"]).attempts == 2
    # Bruno still has R$ 50.00: the retry is refused too, and the next one is scheduled (3 retries at most).
    history = [h.to_status for h in stored.history.order_by("pk")]
    assert history == ["SENT", "RETRY_SCHEDULED", "SENT", "RETRY_SCHEDULED"]
