"""Crash safety: a worker SIGKILLed in the middle of a sweep. Its open transaction dies with it, a second worker
(and beat's next tick) finishes the work: every payment executed exactly once, every webhook sent at least once
with a stable event id."""

import time

import pytest

from connectors.models import SandboxAccount
from opusof.outbox.models import EventState, OutboxEvent
from opusof.outbox.services import EVENT_ID_HEADER
from opusof.outbox.tasks import dispatch_pending
from opusof.timeutil import business_date
from payments.models import PaymentStatus, PixPayment
from payments.scheduling import DUE_BATCH_SIZE, payments_due
from payments.tasks import run_due_payments
from tests.support.celery_workers import wait_until
from tests.support.due_payments_seed import assert_executed_once, seed_accounts, seed_due_payments
from tests.support.webhook_receiver import assert_webhook_matches_spec

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

COUNT = 2 * DUE_BATCH_SIZE + 50


def test_sigkill_mid_batch_loses_nothing_and_doubles_nothing(tpp, webhook_receiver, start_worker):
    # Given 450 due payments at a bank that takes ~10 ms per status read, and a TPP with a webhook URI
    tpp.client.webhook_uris = [webhook_receiver.base_url]
    tpp.client.save(update_fields=["webhook_uris"])
    accounts = seed_accounts(10)
    SandboxAccount.objects.filter(pk__in=[a.pk for a in accounts]).update(
        behaviour=SandboxAccount.Behaviour.SLOW, slow_seconds=0.01
    )
    today = business_date()
    ids = seed_due_payments(client=tpp.client, accounts=accounts, count=COUNT, day=today)
    first = start_worker()

    # When the worker is killed after its first batch committed, in the middle of the second
    run_due_payments.delay()
    done = PixPayment.objects.filter(payment_id__in=ids).exclude(status=PaymentStatus.SCHD)
    wait_until(lambda: done.count() >= DUE_BATCH_SIZE, workers=[first], timeout=60)
    time.sleep(0.5)
    first.kill()
    executed_at_kill = done.count()
    assert DUE_BATCH_SIZE <= executed_at_kill < COUNT, "killed mid-sweep"

    # and another worker takes over when beat fires again
    second = start_worker()
    run_due_payments.delay()
    wait_until(lambda: not payments_due(today).exists(), workers=[second], timeout=120)

    # Then every payment was executed exactly once (one SCHD→ACSC, one debit at the bank)
    assert assert_executed_once(ids) == {"ACSC": COUNT}
    # and every webhook is delivered at least once, with one event (one stable id) per status change
    assert OutboxEvent.objects.count() == COUNT
    assert set(OutboxEvent.objects.values_list("resource_id", flat=True)) == set(ids)

    def all_delivered() -> bool:
        if OutboxEvent.objects.exclude(state=EventState.DELIVERED).exists():
            dispatch_pending.delay()  # beat's dispatcher, for nudges the killed worker took down with it
            time.sleep(0.5)
            return False
        return True

    wait_until(all_delivered, workers=[second], timeout=120)
    received_ids = {r.headers[EVENT_ID_HEADER] for r in webhook_receiver.received}
    assert received_ids == {str(pk) for pk in OutboxEvent.objects.values_list("pk", flat=True)}
    for request in webhook_receiver.received[:20]:
        assert assert_webhook_matches_spec(request, base_path="/tpp-hooks") == "pixPaymentNotification"
