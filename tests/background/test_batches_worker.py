"""Asynchronous checks on a real worker: a multi-item schedule answered RCVD is scheduled by the worker, and one
the worker could not schedule within 60 minutes becomes RJCT FALHA_AGENDAMENTO_PAGAMENTOS (payments v4);
a multi-approval consent past its deadline expires; each change is announced to the TPP."""

import datetime as dt

import pytest
from django.utils import timezone
from kombu import Queue

from consents.expiry import consents_expire_due
from consents.models import PaymentConsent
from opusof.celery import app
from opusof.outbox.models import EventKind, OutboxEvent
from opusof.timeutil import business_date
from payments.models import PixPayment
from payments.tasks import resubmit_stalled_batches
from tests.support.celery_workers import DEFAULT_QUEUE, wait_until
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


def _schedule(v4, days: int = 3) -> list[str]:
    start = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": days}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(
        consent_id, [payment_item(data, day=start + dt.timedelta(days=i)) for i in range(days)]
    )
    assert response.status_code == 201, body
    assert {item["status"] for item in body["data"]} == {"RCVD"}
    return [item["paymentId"] for item in body["data"]]


@pytest.mark.celery_worker
def test_the_worker_schedules_a_multi_item_post(v4, start_worker):
    worker = start_worker()
    ids = _schedule(v4)
    payments = PixPayment.objects.filter(payment_id__in=ids)
    wait_until(lambda: set(payments.values_list("status", flat=True)) == {"SCHD"}, workers=[worker], timeout=30)
    announced = OutboxEvent.objects.filter(kind=EventKind.PIX_PAYMENT, resource_id__in=ids, to_status="SCHD")
    assert announced.count() == len(ids)


@pytest.mark.celery_worker
def test_a_batch_not_scheduled_within_60_minutes_is_rejected_by_the_worker(v4, start_worker):
    ids = _schedule(v4)  # no worker yet: the batch's own task waits in the queue ...
    with app.connection_for_write() as conn:  # ... and is lost
        Queue(DEFAULT_QUEUE)(conn.default_channel).purge()
    PixPayment.objects.filter(payment_id__in=ids).update(created_at=timezone.now() - dt.timedelta(minutes=61))
    worker = start_worker()

    resubmit_stalled_batches.delay()  # beat's sweep

    payments = PixPayment.objects.filter(payment_id__in=ids)
    wait_until(lambda: set(payments.values_list("status", flat=True)) == {"RJCT"}, workers=[worker], timeout=30)
    assert set(payments.values_list("rejection_reason", flat=True)) == {"FALHA_AGENDAMENTO_PAGAMENTOS"}
    body = v4.get_payment(ids[0])  # validated against the spec
    assert body["status"] == "RJCT" and body["rejectionReason"]["code"] == "FALHA_AGENDAMENTO_PAGAMENTOS"


def test_a_multi_approval_consent_expires_at_its_deadline(v4):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT), approvals=2)
    consent = PaymentConsent.objects.get(consent_id=consent_id)
    assert consent.status == "PARTIALLY_ACCEPTED"
    assert consents_expire_due() == 0, "not before its deadline"
    PaymentConsent.objects.filter(pk=consent.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert consents_expire_due() == 1

    consent.refresh_from_db()
    assert (consent.status, consent.rejection_reason) == ("REJECTED", "TEMPO_EXPIRADO_AUTORIZACAO")
    assert OutboxEvent.objects.filter(resource_id=consent_id, to_status="REJECTED").count() == 1
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"
