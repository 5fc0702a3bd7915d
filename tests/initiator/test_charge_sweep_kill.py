"""Crash safety of the charge sweep: two real Celery workers run it at once against our holder (live server), one is
SIGKILLed mid-run, and another run (beat's next tick) plus the poller finish: every charge reaches the holder
exactly once, counted at the holder."""

import time
from collections import Counter

import pytest

from initiator.models import ChargeStatus, InitiatorPayment, PaymentStatus, ScheduledCharge
from initiator.services.charges import charges_send_due
from initiator.services.sync import poll_open
from initiator.tasks import send_charges
from opusof.timeutil import business_date
from recurring.models import RecurringPayment
from tests.initiator.conftest import Gateway
from tests.initiator.test_automatic_payments import authorise_recurring
from tests.initiator.test_charge_schedules import register, template
from tests.support.celery_workers import wait_until
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

COUNT = 40


def test_two_workers_one_killed_every_charge_sent_once(gateway: Gateway, live_server, start_worker):
    consent_id = authorise_recurring(gateway, sweeping_consent(total="100000.00"))
    today = business_date().isoformat()
    charges = [{"amount": "1.00", "dueDate": today, "reference": f"c{n}"} for n in range(COUNT)]
    register(gateway, consent_id, {"payment": template(sweeping_payment()), "charges": charges})
    env = {"OPUSOF_BASE_URL": live_server.url, "INITIATOR_BASE_URL": live_server.url}
    first, second = start_worker(**env), start_worker(**env)

    send_charges.delay()
    send_charges.delay()
    at_holder = RecurringPayment.objects.filter(consent__recurring_consent_id=consent_id)
    wait_until(lambda: at_holder.count() >= 5, workers=[first, second], timeout=90)
    first.kill()
    killed_at = at_holder.count()
    assert killed_at < COUNT, "killed mid-run"

    # beat's next tick (here, in the test process) and the poller for a call whose answer died with the worker
    wait_until(
        lambda: not ScheduledCharge.objects.filter(status=ChargeStatus.SCHEDULED).exists(),
        workers=[second],
        timeout=120,
    )
    charges_send_due()
    for _ in range(5):
        if not InitiatorPayment.objects.filter(status=PaymentStatus.SUBMITTING).exists():
            break
        InitiatorPayment.objects.filter(status=PaymentStatus.SUBMITTING).update(next_poll_at=None)
        poll_open()
        time.sleep(0.2)
    charges_send_due()

    per_reference = Counter(at_holder.values_list("end_to_end_id", flat=True))
    assert at_holder.count() == COUNT and set(per_reference.values()) == {1}
    assert Counter(ScheduledCharge.objects.values_list("status", flat=True)) == {ChargeStatus.PAID: COUNT}
    assert InitiatorPayment.objects.filter(consent__consent_id=consent_id).count() == COUNT
