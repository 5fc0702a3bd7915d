"""Redis (Celery's broker and Django's cache) stopped during traffic and during an idle worker, then started again
empty (docs/resilience.md): signed POSTs get no 500, a used jti stays refused across the restart, the work whose
enqueue failed is found by beat's database sweeps once Redis is back, the worker survives, nothing is lost.

Everything runs on a private ``redis-server`` (tests/background/redis_server.py): this process's cache and Celery
app, and a real worker process, are pointed at it for the test.
"""

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.cache import cache
from django.utils import timezone

from opusof.celery import app
from opusof.degrade import broker_breaker
from opusof.outbox.models import EventState, OutboxEvent
from opusof.outbox.tasks import dispatch_pending
from opusof.timeutil import business_date
from payments.models import PaymentStatus, PixPayment
from payments.tasks import resubmit_stalled_batches
from tests.support.celery_workers import wait_until
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.redis_server import PrivateRedis

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

API = "/open-banking/payments/v4"
# Long enough for the idle worker's consumer to fail several reconnects (2 s, 4 s, 6 s apart) and for beat-side
# publishes to fail, as in the incident; short enough for the suite.
OUTAGE_SECONDS = 15


@pytest.fixture
def private_redis(tmp_path: Path, settings) -> Iterator[PrivateRedis]:
    """A private Redis, and this process's cache and Celery app pointed at it (the worker gets REDIS_URL)."""
    server = PrivateRedis(tmp_path)
    server.start()
    previous_broker = app.conf.broker_url
    settings.REDIS_URL = server.url()
    # Overriding CACHES makes Django build a new cache handler on the private server.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url(1)}}
    settings.OPUSOF_BROKER_RETRY_AFTER_SECONDS = 2
    _point_celery_at(server.url())
    yield server
    server.stop()
    _point_celery_at(previous_broker)


def _point_celery_at(url: str) -> None:
    app.conf["broker_url"] = url
    cast(Any, app)._after_fork()  # drops the pooled broker connections, as Celery does in a forked child
    broker_breaker.reset()


@pytest.fixture
def hooked_v4(v4, webhook_receiver):
    v4.tpp.client.webhook_uris = [webhook_receiver.base_url]
    v4.tpp.client.save(update_fields=["webhook_uris"])
    return v4


def _schedule_items(data: dict, days: int) -> list[dict]:
    start = dt.date.fromisoformat(data["payment"]["schedule"]["daily"]["startDate"])
    return [payment_item(data, day=start + dt.timedelta(days=i)) for i in range(days)]


def test_signed_posts_during_a_redis_outage_then_nothing_is_lost(private_redis, start_worker, hooked_v4):
    v4 = hooked_v4
    worker = start_worker()
    # Given a signed request made while Redis is up (its jti recorded), and two authorised consents
    before_body = v4.tpp.sign(v4.tpp.claims_for(f"{API}/consents", {"data": consent_data()}))
    first = v4.tpp.post(f"{API}/consents", raw_body=before_body, token=v4.token)
    assert first.status_code == 201
    immediate = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    start = business_date() + dt.timedelta(days=2)
    batch_data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 3}})
    batch = v4.authorised_consent(batch_data, debtor=own(ANA_ACCOUNT))

    # When Redis stops and the TPP keeps calling
    private_redis.stop()
    stopped_at = time.monotonic()
    timings: list[float] = []

    def timed(call):
        began = time.monotonic()
        result = call()
        timings.append(time.monotonic() - began)
        return result

    during_body = v4.tpp.sign(v4.tpp.claims_for(f"{API}/consents", {"data": consent_data()}))
    created, _ = timed(lambda: (v4.tpp.post(f"{API}/consents", raw_body=during_body, token=v4.token), None))
    paid, paid_body = timed(lambda: v4.post_payments(immediate, [payment_item(consent_data())]))
    scheduled, scheduled_body = timed(lambda: v4.post_payments(batch, _schedule_items(batch_data, 3)))
    replayed = timed(lambda: v4.tpp.post(f"{API}/consents", raw_body=before_body, token=v4.token))

    # Then they succeed (the payment saved and answered, its after-commit work left to the sweeps) ...
    assert created.status_code == 201, created.content
    assert paid.status_code == 201, paid_body
    assert scheduled.status_code == 201, scheduled_body
    assert {item["status"] for item in scheduled_body["data"]} == {"RCVD"}
    # ... a replayed jti is still refused (the store is the database, not Redis) ...
    assert replayed.status_code == 403
    assert replayed.json()["errors"][0]["code"] == "INVALID_CLIENT"
    # ... none waits on the dead broker
    assert max(timings) < 5, timings

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
    assert worker.process.poll() is None, f"the idle worker died during the outage:\n{worker.tail()}"

    # When Redis comes back, empty
    private_redis.start()
    assert private_redis.is_empty()

    # Then both jtis stay refused across the restart
    for body in (before_body, during_body):
        again = v4.tpp.post(f"{API}/consents", raw_body=body, token=v4.token)
        assert again.status_code == 403, again.content
    assert cache.get("opusof:absent") is None  # the cache answers again

    # And beat's sweeps find the work whose enqueue failed: the batch (stalled past its resubmit delay) and the
    # webhooks of every status change, all done by the worker that lived through the outage
    batch_ids = [item["paymentId"] for item in scheduled_body["data"]]
    PixPayment.objects.filter(payment_id__in=batch_ids).update(created_at=timezone.now() - dt.timedelta(minutes=3))
    resubmit_stalled_batches.delay()
    payments = PixPayment.objects.filter(payment_id__in=batch_ids)
    wait_until(lambda: set(payments.values_list("status", flat=True)) == {"SCHD"}, workers=[worker], timeout=60)
    dispatch_pending.delay()
    wait_until(
        lambda: not OutboxEvent.objects.exclude(state=EventState.DELIVERED).exists(), workers=[worker], timeout=60
    )
    assert worker.process.poll() is None

    # Nothing lost: every answered payment exists once, each status change has its event, each event was delivered
    answered = {paid_body["data"][0]["paymentId"], *batch_ids}
    assert set(PixPayment.objects.values_list("payment_id", flat=True)) == answered
    assert not PixPayment.objects.filter(status=PaymentStatus.RCVD).exists()
    changes = sum(payment.history.exclude(from_status="").count() for payment in PixPayment.objects.all())
    payment_events = OutboxEvent.objects.filter(resource_id__in=answered)
    assert payment_events.count() == changes > 0
    assert OutboxEvent.objects.filter(state=EventState.DELIVERED).count() == OutboxEvent.objects.count()


def test_a_jti_used_before_redis_restarts_is_refused_after(private_redis, v4):
    body = v4.tpp.sign(v4.tpp.claims_for(f"{API}/consents", {"data": consent_data()}))
    assert v4.tpp.post(f"{API}/consents", raw_body=body, token=v4.token).status_code == 201

    private_redis.stop()
    private_redis.start()

    replayed = v4.tpp.post(f"{API}/consents", raw_body=body, token=v4.token, idempotency_key=str(uuid.uuid4()))
    assert replayed.status_code == 403
    assert replayed.json()["errors"][0]["detail"] == "Claim jti já utilizada."


def test_a_hung_redis_holds_a_signed_post_at_most_one_socket_timeout(private_redis, v4, settings):
    # Given an authorised consent, and Redis hung (a network partition, a paused server), not refusing connections
    consents = [v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT)) for _ in range(2)]
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"]
    private_redis.pause()
    try:
        # When the TPP pays twice
        timings, answers = [], []
        for consent_id in consents:
            began = time.monotonic()
            answers.append(v4.post_payments(consent_id, [payment_item(consent_data())])[0].status_code)
            timings.append(time.monotonic() - began)
    finally:
        private_redis.resume()

    # Then both payments are saved and answered; the first waited for the publish to time out once, the second
    # did not try (the broker was marked down)
    assert answers == [201, 201]
    assert timings[0] < timeout + 2, timings
    assert timings[1] < 1, timings
    assert PixPayment.objects.count() == 2
