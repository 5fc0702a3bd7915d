"""Webhooks delivered by a real worker to a real local HTTP server: after the commit, retried through a failing
TPP, recovered by the beat dispatcher when the post-commit nudge was lost."""

import pytest
from django.db.models import Count
from kombu import Queue

from consents.services import consent_reject
from opusof.celery import app
from opusof.outbox.models import EventState, OutboxEvent
from opusof.outbox.services import EVENT_ID_HEADER
from opusof.outbox.tasks import dispatch_pending
from opusof.timeutil import business_date
from payments.tasks import execute_due_payments
from tests.support.celery_workers import DEFAULT_QUEUE, wait_until
from tests.support.due_payments_seed import seed_accounts, seed_due_payments
from tests.support.payment_bodies import consent_data
from tests.support.webhook_receiver import assert_webhook_matches_spec

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hooked_tpp(tpp, webhook_receiver):
    tpp.client.webhook_uris = [webhook_receiver.base_url]
    tpp.client.save(update_fields=["webhook_uris"])
    return tpp


def test_payment_webhooks_fail_then_succeed_with_a_stable_event_id(hooked_tpp, webhook_receiver, start_worker):
    # Given a TPP whose receiver answers 503 and then 500 before it recovers
    webhook_receiver.script = [503, 500]
    ids = seed_due_payments(client=hooked_tpp.client, accounts=seed_accounts(1), count=3, day=business_date())
    worker = start_worker()

    # When the worker executes the due payments
    execute_due_payments.delay(business_date().isoformat())

    # Then every payment's ACSC is notified, the failures retried with backoff (1 s base in the worker)
    wait_until(
        lambda: OutboxEvent.objects.filter(state=EventState.DELIVERED).count() == 3, workers=[worker], timeout=60
    )
    received = webhook_receiver.received
    assert len(received) == 5
    for request in received:
        assert assert_webhook_matches_spec(request, base_path="/tpp-hooks") == "pixPaymentNotification"
    by_event: dict[str, list[str]] = {}
    for request in received:
        by_event.setdefault(request.headers[EVENT_ID_HEADER], []).append(request.path)
    events = {str(e.pk): e for e in OutboxEvent.objects.all()}
    assert set(by_event) == set(events), "one stable id per event across its attempts"
    assert {e.resource_id for e in events.values()} == set(ids)
    for event_id, paths in by_event.items():
        assert set(paths) == {
            f"/tpp-hooks/open-banking/webhook/v1/payments/v4/pix/payments/{events[event_id].resource_id}"
        }
    interaction_ids = [r.headers["x-webhook-interaction-id"] for r in received]
    assert len(set(interaction_ids)) == 5, "a new x-webhook-interaction-id per attempt"
    attempts = OutboxEvent.objects.annotate(n=Count("deliveries")).values_list("n", flat=True)
    assert sum(attempts) == 5 and min(attempts) >= 1
    outcomes = sorted(OutboxEvent.objects.values_list("deliveries__outcome", "deliveries__status_code"))
    assert outcomes == sorted([("DELIVERED", 202)] * 3 + [("RETRY", 503), ("RETRY", 500)])


def test_a_lost_nudge_is_recovered_by_the_beat_dispatcher(hooked_tpp, webhook_receiver, start_worker, v4):
    # Given a status change committed, whose post-commit nudge is lost (the broker dropped it)
    consent_id = v4.create_consent(consent_data())
    consent_reject(consent_id=consent_id, reason="REJEITADO_USUARIO", detail="recusado", actor="customer:test")
    with app.connection_for_write() as conn:
        Queue(DEFAULT_QUEUE)(conn.default_channel).purge()
    event = OutboxEvent.objects.get(resource_id=consent_id)
    worker = start_worker()

    # When beat's dispatcher runs
    dispatch_pending.delay()

    # Then the event is delivered once, with its id
    wait_until(lambda: len(webhook_receiver.received) == 1, workers=[worker], timeout=30)
    [request] = webhook_receiver.received
    assert assert_webhook_matches_spec(request, base_path="/tpp-hooks") == "consentNotification"
    assert request.headers[EVENT_ID_HEADER] == str(event.pk)
    wait_until(lambda: OutboxEvent.objects.get(pk=event.pk).state == EventState.DELIVERED, workers=[worker], timeout=10)
