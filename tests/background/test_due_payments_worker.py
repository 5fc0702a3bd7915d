"""Scheduled payments due today, executed by real Celery workers on PostgreSQL + Redis: once each, whatever the
number of workers or beats, through a bank that goes offline and comes back."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from connectors.models import SandboxAccount
from opusof.timeutil import business_date
from payments.models import PaymentStatusChange, PixPayment
from payments.scheduling import payments_due
from payments.tasks import execute_due_payments, run_due_payments
from tests.support.celery_workers import wait_until
from tests.support.due_payments_seed import assert_executed_once, seed_accounts, seed_due_payments

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tpp(tpp):
    """The TPP without webhook URIs: these tests are about execution (tests/background/test_webhooks_worker.py
    covers the notifications)."""
    tpp.client.webhook_uris = []
    tpp.client.save(update_fields=["webhook_uris"])
    return tpp


def test_a_due_schedule_executes_once_with_funds_checked_at_settlement(tpp, start_worker):
    # Given 30 payments due today over three funded accounts, 4 from an account that holds only 25.00, one
    # due yesterday (missed during an outage) and one due tomorrow
    today = business_date()
    funded = seed_accounts(3)
    poor = seed_accounts(1, balance=Decimal("25.00"), prefix="8")
    due = seed_due_payments(client=tpp.client, accounts=funded, count=30, day=today)
    short = seed_due_payments(client=tpp.client, accounts=poor, count=4, day=today)
    late = seed_due_payments(client=tpp.client, accounts=funded, count=1, day=today - dt.timedelta(days=1))
    future = seed_due_payments(client=tpp.client, accounts=funded, count=1, day=today + dt.timedelta(days=1))
    worker = start_worker()

    # When beat fires the sweep twice (two beats, or one tick after another)
    run_due_payments.delay()
    run_due_payments.delay()
    wait_until(lambda: not payments_due(today).exists(), workers=[worker])
    run_due_payments.delay()  # a later tick finds nothing
    execute_due_payments.delay(today.isoformat())

    # Then each due payment ran once; funds were checked at settlement (2 x 10.00 of 25.00 paid, 2 refused)
    assert assert_executed_once(due + late) == {"ACSC": 31}
    assert assert_executed_once(short) == {"ACSC": 2, "RJCT": 2}
    refused = PixPayment.objects.filter(payment_id__in=short, status="RJCT")
    assert set(refused.values_list("rejection_reason", flat=True)) == {"SALDO_INSUFICIENTE"}
    assert PixPayment.objects.get(payment_id=future[0]).status == "SCHD"
    assert SandboxAccount.objects.get(pk=poor[0].pk).balance == Decimal("5.00")
    history = PaymentStatusChange.objects.filter(payment__payment_id=due[0]).get(from_status="SCHD")
    assert history.actor == "system:scheduler"


def test_two_workers_racing_execute_each_payment_once(tpp, start_worker):
    today = business_date()
    ids = seed_due_payments(client=tpp.client, accounts=seed_accounts(20), count=800, day=today)
    workers = [start_worker(), start_worker()]

    # Two beats and extra sweepers: more claimers than work, all at once.
    for _ in range(2):
        run_due_payments.delay()
    for _ in range(4):
        execute_due_payments.delay(today.isoformat())

    def executed_per_worker() -> list[list[int]]:
        pattern = r"execute_due_payments\[[^\]]+\] succeeded in [0-9.]+s: (\d+)"
        return [[int(n) for n in re.findall(pattern, w.text())] for w in workers]

    wait_until(lambda: not payments_due(today).exists(), workers=workers, timeout=120)
    # Each beat run starts up to 4 more sweepers, so the log is read once the sweepers that did work have reported.
    wait_until(lambda: sum(map(sum, executed_per_worker())) >= 800, workers=workers, timeout=60)
    assert assert_executed_once(ids) == {"ACSC": 800}
    # Both workers did part of the work, and the sweepers' own counts add up to the payments once.
    executed = executed_per_worker()
    assert sum(sum(counts) for counts in executed) == 800
    assert all(sum(counts) > 0 for counts in executed), executed


def test_bank_offline_is_retried_and_succeeds_when_it_comes_back(tpp, start_worker):
    today = business_date()
    [account] = seed_accounts(1)
    ids = seed_due_payments(client=tpp.client, accounts=[account], count=5, day=today)
    SandboxAccount.objects.filter(pk=account.pk).update(behaviour=SandboxAccount.Behaviour.OFFLINE)
    worker = start_worker()

    execute_due_payments.delay(today.isoformat())

    # The sweeper found the bank down, left the payments SCHD and scheduled its own retry (5 s backoff)
    wait_until(lambda: "Retry in 5s" in worker.tail(), workers=[worker], timeout=30)
    assert set(PixPayment.objects.filter(payment_id__in=ids).values_list("status", flat=True)) == {"SCHD"}
    # When the bank comes back, the retry executes them
    SandboxAccount.objects.filter(pk=account.pk).update(behaviour=SandboxAccount.Behaviour.NORMAL)
    wait_until(lambda: not payments_due(today).exists(), workers=[worker], timeout=60)
    assert assert_executed_once(ids) == {"ACSC": 5}
