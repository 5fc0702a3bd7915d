"""A scheduled Pix Automático charge settles on its date through the real background machinery: the beat task
enqueues a poll on Redis, a real Celery worker process runs it against the test database."""

import pytest

from connectors.models import SandboxPayment
from opusof.timeutil import business_date
from recurring.models import RecurringPayment
from recurring.tasks import poll_open_recurring_payments
from tests.support.celery_workers import wait_until
from tests.support.recurring_bodies import ANA_ACCOUNT, automatic_consent, automatic_payment, own


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_due_charge_settles_through_beat_and_a_worker(ap2, start_worker):
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    payment = ap2.pay(consent_id, automatic_payment("45.00"))
    assert payment["status"] == "SCHD"
    assert poll_open_recurring_payments() == 0  # nothing due before its date

    # The settlement date comes (simulated: the charge and the bank's copy move to today).
    RecurringPayment.objects.update(date=business_date())
    SandboxPayment.objects.filter(payment_id=payment["recurringPaymentId"]).update(scheduled_date=business_date())
    worker = start_worker()
    assert poll_open_recurring_payments() == 1

    def settled() -> bool:
        return RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).status == "ACSC"

    wait_until(settled, workers=[worker], timeout=60)
    _, body = ap2.get_payment(payment["recurringPaymentId"])
    assert body["data"]["status"] == "ACSC"
    actors = list(
        RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).history.values_list(
            "actor", flat=True
        )
    )
    assert actors[-1] == "system:poll"
