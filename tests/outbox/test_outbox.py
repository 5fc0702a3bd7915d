"""The transactional outbox and webhook delivery, in-process, against a real local HTTP server (webhook 1.2.0)."""

import datetime as dt
import re
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from consents.services import consent_reject
from opusof.outbox.models import AttemptOutcome, EventKind, EventState, OutboxEvent, WebhookDelivery
from opusof.outbox.services import EVENT_ID_HEADER, outbox_claim_due, outbox_replay, webhook_deliver
from payments.models import PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.webhook_receiver import WebhookReceiver, assert_webhook_matches_spec

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def hooked(v4, webhook_receiver: WebhookReceiver):
    """``v4`` whose TPP registered the local receiver as its webhook URI."""
    v4.tpp.client.webhook_uris = [webhook_receiver.base_url]
    v4.tpp.client.save(update_fields=["webhook_uris"])
    return v4


def _due_now() -> None:
    OutboxEvent.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_every_status_change_writes_one_event_per_registered_uri(hooked, webhook_receiver):
    # Given a TPP with two registered webhook URIs
    second = "https://tpp-one.example.com/other-hooks"
    hooked.tpp.client.webhook_uris = [webhook_receiver.base_url, second]
    hooked.tpp.client.save(update_fields=["webhook_uris"])
    data = consent_data()

    # When the consent is authorised and a payment is made
    consent_id = hooked.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = hooked.post_payments(consent_id, [payment_item(data)])
    payment_id = body["data"][0]["paymentId"]

    # Then each change (AUTHORISED, CONSUMED, RCVD→ACSC) has an event per URI, creation (the TPP's own call) none
    changes = {(e.kind, e.resource_id, e.to_status, e.webhook_uri) for e in OutboxEvent.objects.all()}
    expected = {
        (EventKind.PAYMENT_CONSENT, consent_id, "AUTHORISED"),
        (EventKind.PAYMENT_CONSENT, consent_id, "CONSUMED"),
        (EventKind.PIX_PAYMENT, payment_id, "ACSC"),
    }
    assert changes == {(*change, uri) for change in expected for uri in (webhook_receiver.base_url, second)}
    event = OutboxEvent.objects.get(kind=EventKind.PIX_PAYMENT, webhook_uri=webhook_receiver.base_url)
    assert event.url == f"{webhook_receiver.base_url}/open-banking/webhook/v1/payments/v4/pix/payments/{payment_id}"
    assert event.state == EventState.PENDING and event.client_id == hooked.tpp.client.pk


def test_client_without_webhook_uris_gets_no_events(v4):
    v4.tpp.client.webhook_uris = []
    v4.tpp.client.save(update_fields=["webhook_uris"])
    v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    assert OutboxEvent.objects.count() == 0


def test_the_event_rolls_back_with_the_status_change(hooked):
    consent_id = hooked.create_consent(consent_data())
    with pytest.raises(RuntimeError), transaction.atomic():
        consent_reject(consent_id=consent_id, reason="REJEITADO_USUARIO", detail="x", actor="customer:test")
        assert OutboxEvent.objects.filter(resource_id=consent_id).count() == 1
        raise RuntimeError("crash before commit")
    assert OutboxEvent.objects.filter(resource_id=consent_id).count() == 0


def test_delivery_matches_the_webhook_spec_and_is_recorded(hooked, webhook_receiver):
    data = consent_data()
    consent_id = hooked.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = hooked.post_payments(consent_id, [payment_item(data)])
    payment_id = body["data"][0]["paymentId"]

    for event in OutboxEvent.objects.order_by("created_at"):
        result = webhook_deliver(event_id=str(event.pk))
        assert result is not None and result.outcome == AttemptOutcome.DELIVERED

    received = webhook_receiver.wait_for(3)
    operations = [assert_webhook_matches_spec(r, base_path="/tpp-hooks") for r in received]
    assert sorted(operations) == ["consentNotification", "consentNotification", "pixPaymentNotification"]
    paths = {r.path for r in received}
    assert f"/tpp-hooks/open-banking/webhook/v1/payments/v4/pix/payments/{payment_id}" in paths
    assert f"/tpp-hooks/open-banking/webhook/v1/payments/v4/consents/{consent_id}" in paths
    for request in received:
        event = OutboxEvent.objects.get(pk=request.headers[EVENT_ID_HEADER])
        # The body is the spec's ping: only the UTC time of the change, without fractions.
        assert request.json() == {"data": {"timestamp": event.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")}}
        assert UUID_RE.match(request.headers["x-webhook-interaction-id"])
        delivery = event.deliveries.get()
        assert str(delivery.interaction_id) == request.headers["x-webhook-interaction-id"]
        assert (delivery.status_code, delivery.outcome, delivery.attempt) == (202, AttemptOutcome.DELIVERED, 1)
        assert delivery.latency_ms is not None and delivery.url == event.url
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {EventState.DELIVERED}
    # Delivered events are not due any more: a second pass sends nothing.
    assert outbox_claim_due()[1] == []
    assert all(webhook_deliver(event_id=str(e.pk)) is None for e in OutboxEvent.objects.all())
    assert len(webhook_receiver.received) == 3


def test_5xx_and_network_errors_are_retried_with_backoff_then_delivered(hooked, webhook_receiver, settings):
    settings.OPUSOF_WEBHOOK_RETRY_BASE_SECONDS = 10
    webhook_receiver.script = [503, 500]
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()

    first = webhook_deliver(event_id=str(event.pk))
    assert first is not None and first.outcome == AttemptOutcome.RETRY and first.status_code == 503
    # Backoff: attempt 1 waits between half and all of the base interval (jitter), and is not due before that.
    assert first.retry_in is not None and 5 <= first.retry_in <= 10
    event.refresh_from_db()
    assert event.state == EventState.PENDING and event.attempts == 1
    assert event.next_attempt_at > timezone.now()
    assert webhook_deliver(event_id=str(event.pk)) is None, "not due yet"

    _due_now()
    second = webhook_deliver(event_id=str(event.pk))
    assert second is not None and second.outcome == AttemptOutcome.RETRY and second.status_code == 500
    assert second.retry_in is not None and 10 <= second.retry_in <= 20

    _due_now()
    third = webhook_deliver(event_id=str(event.pk))
    assert third is not None and third.outcome == AttemptOutcome.DELIVERED

    received = webhook_receiver.wait_for(3)
    assert {r.headers[EVENT_ID_HEADER] for r in received} == {str(event.pk)}, "one stable event id"
    assert len({r.headers["x-webhook-interaction-id"] for r in received}) == 3, "a new interaction id per attempt"
    attempts = list(event.deliveries.order_by("attempt").values_list("attempt", "status_code", "outcome"))
    assert attempts == [(1, 503, "RETRY"), (2, 500, "RETRY"), (3, 202, "DELIVERED")]


def test_connection_refused_is_recorded_and_retried(hooked, webhook_receiver):
    hooked.tpp.client.webhook_uris = ["http://127.0.0.1:9/nothing-listens"]
    hooked.tpp.client.save(update_fields=["webhook_uris"])
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.RETRY and result.status_code is None
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code is None and "ConnectError" in delivery.error
    event.refresh_from_db()
    assert event.state == EventState.PENDING and "ConnectError" in event.last_error


def test_4xx_stops_at_once(hooked, webhook_receiver):
    webhook_receiver.script = [404]
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.FAILED and result.retry_in is None
    event.refresh_from_db()
    assert event.state == EventState.FAILED and "HTTP 404" in event.last_error
    _due_now()
    assert webhook_deliver(event_id=str(event.pk)) is None
    assert len(webhook_receiver.received) == 1


def test_attempts_are_bounded(hooked, webhook_receiver, settings):
    settings.OPUSOF_WEBHOOK_MAX_ATTEMPTS = 2
    webhook_receiver.script = [500, 500, 500]
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()

    webhook_deliver(event_id=str(event.pk))
    _due_now()
    last = webhook_deliver(event_id=str(event.pk))

    assert last is not None and last.outcome == AttemptOutcome.FAILED
    event.refresh_from_db()
    assert event.state == EventState.FAILED and event.attempts == 2 and "tentativas esgotadas" in event.last_error


def test_only_registered_uris_are_called(hooked, webhook_receiver):
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()
    # The TPP changed its registration after the event was written.
    hooked.tpp.client.webhook_uris = ["https://tpp-one.example.com/new-hooks"]
    hooked.tpp.client.save(update_fields=["webhook_uris"])

    result = webhook_deliver(event_id=str(event.pk))

    assert result is not None and result.outcome == AttemptOutcome.FAILED
    assert webhook_receiver.received == []
    assert "não registrada" in OutboxEvent.objects.get().last_error


def test_leased_events_are_not_claimed_twice(hooked, webhook_receiver):
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()

    token, ids = outbox_claim_due()
    assert ids == [str(event.pk)]
    assert outbox_claim_due()[1] == [], "a second dispatcher finds the event leased"
    assert webhook_deliver(event_id=str(event.pk)) is None, "a nudge without the lease token does not send"
    result = webhook_deliver(event_id=str(event.pk), token=token)
    assert result is not None and result.outcome == AttemptOutcome.DELIVERED
    # An expired lease (its holder died) is claimable again.
    OutboxEvent.objects.update(
        state=EventState.PENDING, claimed_by=uuid.uuid4(), claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert outbox_claim_due()[1] == [str(event.pk)]


def test_replay_sends_a_delivered_event_again_with_the_same_event_id(hooked, webhook_receiver):
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()
    webhook_deliver(event_id=str(event.pk))

    [result] = outbox_replay(event_ids=[str(event.pk)])

    assert result.outcome == AttemptOutcome.DELIVERED
    first, second = webhook_receiver.wait_for(2)
    assert first.headers[EVENT_ID_HEADER] == second.headers[EVENT_ID_HEADER] == str(event.pk)
    assert first.headers["x-webhook-interaction-id"] != second.headers["x-webhook-interaction-id"]
    assert list(event.deliveries.order_by("attempt").values_list("trigger", flat=True)) == ["dispatch", "replay"]


def test_admin_lists_events_and_replays_a_delivery(hooked, webhook_receiver, admin_client):
    webhook_receiver.script = [400]
    hooked.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    event = OutboxEvent.objects.get()
    webhook_deliver(event_id=str(event.pk))
    delivery = WebhookDelivery.objects.get()

    assert admin_client.get("/admin/outbox/outboxevent/").status_code == 200
    page = admin_client.get(f"/admin/outbox/outboxevent/{event.pk}/change/")
    assert page.status_code == 200 and event.url.encode() in page.content
    assert admin_client.get("/admin/outbox/webhookdelivery/?outcome=FAILED").status_code == 200
    response = admin_client.post(
        "/admin/outbox/webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]}, follow=True
    )

    assert response.status_code == 200
    event.refresh_from_db()
    assert event.state == EventState.DELIVERED and event.attempts == 2
    assert len(webhook_receiver.received) == 2


def test_payment_changes_from_the_bank_are_announced(hooked, webhook_receiver):
    from connectors.models import SandboxAccount
    from payments.services import payment_poll_status

    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=0
    )
    data = consent_data()
    consent_id = hooked.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = hooked.post_payments(consent_id, [payment_item(data)])
    payment_id = body["data"][0]["paymentId"]
    payment_poll_status(payment_id=payment_id)

    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    statuses = list(
        OutboxEvent.objects.filter(resource_id=payment_id).order_by("occurred_at").values_list("to_status", flat=True)
    )
    assert statuses == ["PDNG", "ACSC"]


def test_a_sweep_batch_reads_the_client_registration_once(hooked, webhook_receiver):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from opusof.outbox.services import outbox_batch, outbox_record_status_change

    client_id = hooked.tpp.client.pk
    with CaptureQueriesContext(connection) as queries, outbox_batch():
        for n in range(3):
            outbox_record_status_change(
                client_id=client_id,
                kind=EventKind.PIX_PAYMENT,
                resource_id=f"p-{n}",
                from_status="SCHD",
                to_status="ACSC",
                occurred_at=timezone.now(),
            )
    lookups = [q for q in queries.captured_queries if 'FROM "opusof_tppclient"' in q["sql"]]
    assert len(lookups) == 1
    assert OutboxEvent.objects.filter(resource_id__startswith="p-").count() == 3
