"""Beat doors of the recurring app: expiry of unauthorised consents and polling of open / due charges."""

import datetime as dt

from django.utils import timezone

from connectors.models import SandboxAccount, SandboxPayment
from opusof.timeutil import business_date
from recurring.models import RecurringConsent, RecurringPayment
from recurring.services import recurring_payments_due_for_poll
from recurring.tasks import expire_due_recurring_consents, poll_recurring_payment_status
from tests.recurring.builders import ANA_ACCOUNT, automatic_consent, automatic_payment, own, sweeping_consent


def test_sweep_rejects_unauthorised_consents_without_a_read(ap2):
    fresh = ap2.create_consent(sweeping_consent())
    stale = ap2.create_consent(sweeping_consent())
    RecurringConsent.objects.filter(recurring_consent_id=stale).update(
        authorisation_deadline=timezone.now() - dt.timedelta(seconds=1)
    )
    assert expire_due_recurring_consents() == 1
    consent = RecurringConsent.objects.get(recurring_consent_id=stale)
    assert (consent.status, consent.rejection_code, consent.rejected_by) == (
        "REJECTED",
        "TEMPO_EXPIRADO_AUTORIZACAO",
        "DETENTORA",
    )
    assert RecurringConsent.objects.get(recurring_consent_id=fresh).status == "AWAITING_AUTHORISATION"
    assert expire_due_recurring_consents() == 0


def test_due_scheduled_charge_settles_through_the_poll(ap2):
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    payment = ap2.pay(consent_id, automatic_payment("80.00"))
    before = SandboxAccount.objects.get(number="10000001").balance
    assert recurring_payments_due_for_poll() == []  # not due before its date
    RecurringPayment.objects.update(date=business_date())
    SandboxPayment.objects.filter(payment_id=payment["recurringPaymentId"]).update(scheduled_date=business_date())
    assert recurring_payments_due_for_poll() == [payment["recurringPaymentId"]]
    poll_recurring_payment_status(payment["recurringPaymentId"])  # what the beat task enqueues, run inline
    assert RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).status == "ACSC"
    assert SandboxAccount.objects.get(number="10000001").balance == before - 80
