"""Retention: every fast-growing table is pruned by a beat task through one batched helper (docs/scaling.md)."""

import datetime as dt
import uuid

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from connectors.models import ConnectorCall
from connectors.tasks import purge_connector_calls
from opusof.models import IdempotencyRecord
from opusof.outbox.models import AttemptOutcome, EventKind, EventState, OutboxEvent, WebhookDelivery
from opusof.outbox.tasks import purge_finished
from opusof.retention import delete_older_than
from opusof.tasks import purge_idempotency_records
from tests.factories.holder import IdempotencyRecordFactory

pytestmark = pytest.mark.django_db


def _event(client, *, state: str, age_days: int) -> OutboxEvent:
    created = timezone.now() - dt.timedelta(days=age_days)
    event = OutboxEvent.objects.create(
        client=client,
        kind=EventKind.PIX_PAYMENT,
        resource_id=str(uuid.uuid4()),
        to_status="ACSC",
        webhook_uri="https://tpp.example.com/hooks",
        url="https://tpp.example.com/hooks/open-banking/webhook/v1/payments/v4/pix/payments/x",
        occurred_at=created,
        created_at=created,
        state=state,
    )
    WebhookDelivery.objects.create(
        event=event,
        attempt=1,
        url=event.url,
        interaction_id=uuid.uuid4(),
        outcome=AttemptOutcome.DELIVERED if state == EventState.DELIVERED else AttemptOutcome.FAILED,
        created_at=created,
    )
    return event


def _call(age_days: int) -> ConnectorCall:
    return ConnectorCall.objects.create(
        route="initiate",
        url="http://bank.example/payments",
        outcome=ConnectorCall.Outcome.OK,
        latency_ms=3.0,
        created_at=timezone.now() - dt.timedelta(days=age_days),
    )


def test_every_purge_task_is_on_the_beat_schedule():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    for task in (purge_idempotency_records, purge_finished, purge_connector_calls):
        assert task.name in scheduled
    assert "opusof.tasks.purge_used_jtis" in scheduled  # tests/opusof/test_replay.py runs it


def test_the_helper_deletes_in_batches_and_only_what_is_older(tpp):
    now = timezone.now()
    for i in range(5):
        IdempotencyRecordFactory(client=tpp.client, key=f"old-{i}", expires_at=now - dt.timedelta(hours=1))
    IdempotencyRecordFactory(client=tpp.client, key="edge", expires_at=now)
    IdempotencyRecordFactory(client=tpp.client, key="live", expires_at=now + dt.timedelta(hours=1))

    deleted = delete_older_than(IdempotencyRecord.objects.all(), field="expires_at", cutoff=now, batch_size=2)

    assert deleted == 5  # three batches: 2, 2, 1; the row exactly at the cutoff is not older
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["edge", "live"]
    assert delete_older_than(IdempotencyRecord.objects.all(), field="expires_at", cutoff=now, inclusive=True) == 1


@override_settings(OPUSOF_RETENTION_BATCH_SIZE=2)
def test_beat_purges_expired_idempotency_records(tpp):
    now = timezone.now()
    for i in range(3):
        IdempotencyRecordFactory(client=tpp.client, key=f"old-{i}", expires_at=now - dt.timedelta(seconds=1))
    IdempotencyRecordFactory(client=tpp.client, key="live", expires_at=now + dt.timedelta(hours=1))

    assert purge_idempotency_records() == 3

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["live"]


@override_settings(OPUSOF_OUTBOX_RETENTION_DAYS=30, OPUSOF_RETENTION_BATCH_SIZE=2)
def test_beat_purges_finished_outbox_events_with_their_deliveries(tpp):
    old_delivered = _event(tpp.client, state=EventState.DELIVERED, age_days=31)
    old_failed = _event(tpp.client, state=EventState.FAILED, age_days=40)
    old_pending = _event(tpp.client, state=EventState.PENDING, age_days=45)
    recent = _event(tpp.client, state=EventState.DELIVERED, age_days=29)

    assert purge_finished() == 2

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {old_pending.pk, recent.pk}
    assert not WebhookDelivery.objects.filter(event_id__in=[old_delivered.pk, old_failed.pk]).exists()
    assert WebhookDelivery.objects.count() == 2


@override_settings(OPUSOF_CONNECTOR_CALL_RETENTION_DAYS=7)
def test_beat_purges_connector_calls_past_their_retention():
    old = [_call(8), _call(10)]
    kept = _call(6)

    assert purge_connector_calls() == len(old)

    # The call log's writer thread commits on its own connection, so other tests' rows may be here too.
    mine = [call.pk for call in (*old, kept)]
    assert list(ConnectorCall.objects.filter(pk__in=mine).values_list("pk", flat=True)) == [kept.pk]
