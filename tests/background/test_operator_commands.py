"""Operator commands: idempotent, --dry-run, progress and a summary (run in-process on the test database)."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connectors.models import SandboxAccount
from connectors.sandbox import SandboxBank
from opusof.outbox.models import EventState, OutboxEvent, WebhookDelivery
from opusof.outbox.services import webhook_deliver
from opusof.timeutil import business_date
from payments.models import PaymentStatusChange, PixPayment
from tests.support.due_payments_seed import assert_executed_once, seed_accounts, seed_due_payments
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_run_due_payments_catches_up_once(tpp):
    today = business_date()
    accounts = seed_accounts(2)
    ids = seed_due_payments(client=tpp.client, accounts=accounts, count=5, day=today)
    ids += seed_due_payments(client=tpp.client, accounts=accounts, count=2, day=today - dt.timedelta(days=3))

    dry = run("run_due_payments", "--date", today.isoformat(), "--dry-run")
    assert "7 scheduled payment(s) due" in dry
    assert set(PixPayment.objects.values_list("status", flat=True)) == {"SCHD"}

    first = run("run_due_payments", "--date", today.isoformat(), "--batch-size", "3")
    assert "7/7" in first and "executed 7 (ACSC 7)" in first
    second = run("run_due_payments", "--date", today.isoformat())
    assert "executed 0" in second
    assert assert_executed_once(ids) == {"ACSC": 7}


def test_run_due_payments_for_a_past_date_leaves_later_ones(tpp):
    today = business_date()
    accounts = seed_accounts(1)
    old = seed_due_payments(client=tpp.client, accounts=accounts, count=2, day=today - dt.timedelta(days=2))
    recent = seed_due_payments(client=tpp.client, accounts=accounts, count=1, day=today)
    assert "executed 2" in run("run_due_payments", "--date", (today - dt.timedelta(days=1)).isoformat())
    assert assert_executed_once(old) == {"ACSC": 2}
    assert PixPayment.objects.get(payment_id=recent[0]).status == "SCHD"


@pytest.mark.parametrize("bad", ["2026-02-30", "tomorrow"])
def test_run_due_payments_refuses_bad_dates(bad):
    with pytest.raises(CommandError):
        run("run_due_payments", "--date", bad)


def test_run_due_payments_refuses_the_future():
    with pytest.raises(CommandError, match="future"):
        run("run_due_payments", "--date", (business_date() + dt.timedelta(days=1)).isoformat())


def test_poll_payment_status_one_or_all(v4):
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=0
    )
    payment_ids = []
    for _ in range(2):
        data = consent_data()
        consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
        _, body = v4.post_payments(consent_id, [payment_item(data)])
        payment_ids.append(body["data"][0]["paymentId"])

    assert "2 payment(s) would be polled" in run("poll_payment_status", "--all", "--dry-run")
    assert "changed 1 (PDNG→ACSC 1)" in run("poll_payment_status", payment_ids[0])
    out = run("poll_payment_status", "--all")
    assert "polled 1: changed 1 (PDNG→ACSC 1)" in out
    assert "polled 0" in run("poll_payment_status", "--all")
    assert set(PixPayment.objects.values_list("status", flat=True)) == {"ACSC"}
    with pytest.raises(CommandError):
        run("poll_payment_status")
    with pytest.raises(CommandError, match="not found"):
        run("poll_payment_status", "nope")


def test_reprocess_payment_reconciles_with_the_bank(tpp):
    [payment_id] = seed_due_payments(
        client=tpp.client, accounts=seed_accounts(1), count=1, day=business_date() + dt.timedelta(days=2)
    )
    assert "in agreement" in run("reprocess_payment", payment_id)
    SandboxBank().force_settle(payment_id)  # the bank executed it (its side of the story)

    dry = run("reprocess_payment", payment_id, "--dry-run")
    assert "ours SCHD, bank ACSC" in dry and PixPayment.objects.get(payment_id=payment_id).status == "SCHD"
    assert "SCHD → ACSC" in run("reprocess_payment", payment_id)
    assert "in agreement" in run("reprocess_payment", payment_id)
    assert PaymentStatusChange.objects.filter(payment__payment_id=payment_id, to_status="ACSC").count() == 1


def test_reprocess_payment_reports_a_discrepancy_without_forcing_it(tpp):
    [payment_id] = seed_due_payments(client=tpp.client, accounts=seed_accounts(1), count=1, day=business_date())
    SandboxBank().force_settle(payment_id)
    PixPayment.objects.filter(payment_id=payment_id).update(status="RJCT")  # a state we got wrong somehow
    with pytest.raises(CommandError, match="discrepancy"):
        run("reprocess_payment", payment_id)
    assert PixPayment.objects.get(payment_id=payment_id).status == "RJCT"


@pytest.fixture
def events(v4, webhook_receiver):
    """Three consent events: two failed (the TPP answered 400), one delivered."""
    v4.tpp.client.webhook_uris = [webhook_receiver.base_url]
    v4.tpp.client.save(update_fields=["webhook_uris"])
    webhook_receiver.script = [400, 400]
    for _ in range(3):
        v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    for event in OutboxEvent.objects.order_by("created_at"):
        webhook_deliver(event_id=str(event.pk))
    return v4


def test_replay_webhooks_failed_only(events, webhook_receiver):
    assert OutboxEvent.objects.filter(state=EventState.FAILED).count() == 2
    assert "2 event(s) would be replayed" in run("replay_webhooks", "--failed-only", "--dry-run")
    assert len(webhook_receiver.received) == 3

    out = run("replay_webhooks", "--failed-only")

    assert "2/2" in out and "replayed 2 event(s): DELIVERED 2." in out
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {EventState.DELIVERED}
    assert WebhookDelivery.objects.filter(trigger="replay").count() == 2
    assert "replayed 0" in run("replay_webhooks", "--failed-only")


def test_replay_webhooks_by_id_client_and_window(events, webhook_receiver):
    event = OutboxEvent.objects.filter(state=EventState.DELIVERED).get()
    assert "DELIVERED 1" in run("replay_webhooks", "--id", str(event.pk))
    client_id = events.tpp.client.client_id
    assert "replayed 3" in run("replay_webhooks", "--client", client_id)
    assert "replayed 0" in run("replay_webhooks", "--client", "someone-else")
    since = (event.created_at - dt.timedelta(minutes=1)).isoformat()
    assert "3 event(s) would be replayed" in run("replay_webhooks", "--since", since, "--dry-run")
    assert "0 event(s) would be replayed" in run("replay_webhooks", "--until", since, "--dry-run")
    with pytest.raises(CommandError, match="select"):
        run("replay_webhooks")
    with pytest.raises(CommandError, match="ISO 8601"):
        run("replay_webhooks", "--since", "yesterday")
