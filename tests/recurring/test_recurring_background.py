"""Beat doors of the recurring app: expiry of unauthorised consents, consumption of expired authorised ones, and
polling of open / due charges."""

import datetime as dt

from django.utils import timezone

from connectors.models import SandboxAccount, SandboxPayment
from opusof.outbox.models import EventKind, OutboxEvent
from opusof.timeutil import business_date
from payments.models import PaymentPollState
from recurring.expiry import recurring_consents_expire_due
from recurring.models import RecurringConsent, RecurringPayment
from recurring.services.charges import recurring_payments_due_for_poll
from recurring.tasks import expire_due_recurring_consents, poll_recurring_payment_status
from tests.support.automatic_payments_v2 import error_codes
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    automatic_consent,
    automatic_payment,
    expiry,
    own,
    sweeping_consent,
    sweeping_payment,
)


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


def test_sweep_consumes_an_authorised_consent_at_its_expiry(ap2):
    # given a Pix Automático consent ending in 3 days (23:59:59 UTC) and a charge scheduled for that last day
    consent_id = ap2.authorised_consent(automatic_consent(expiration=expiry(3)), debtor=own(ANA_ACCOUNT))
    last_day = business_date() + dt.timedelta(days=3)
    payment = ap2.pay(consent_id, automatic_payment("80.00", day=last_day))
    assert payment["status"] == "SCHD"
    expires_at = RecurringConsent.objects.get(recurring_consent_id=consent_id).expires_at
    assert expires_at == dt.datetime.combine(last_day, dt.time(23, 59, 59), tzinfo=dt.UTC)

    # when the sweep runs one second before expirationDateTime, then at it
    assert recurring_consents_expire_due(now=expires_at - dt.timedelta(seconds=1)) == 0
    assert RecurringConsent.objects.get(recurring_consent_id=consent_id).status == "AUTHORISED"
    assert recurring_consents_expire_due(now=expires_at) == 1
    assert recurring_consents_expire_due(now=expires_at) == 0

    # then the consent is CONSUMED (no rejection or revocation to report), with history and webhook event
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "CONSUMED"
    assert "rejection" not in consent and "revocation" not in consent
    change = RecurringConsent.objects.get(recurring_consent_id=consent_id).history.latest("created_at")
    assert (change.from_status, change.to_status, change.actor) == ("AUTHORISED", "CONSUMED", "system:expiry")
    event = OutboxEvent.objects.filter(kind=EventKind.RECURRING_CONSENT, to_status="CONSUMED").get()
    assert event.resource_id == consent_id
    # no new charge (§4.2.2.4), but the one scheduled for the last day keeps its second settlement window
    response, body = ap2.post_payment(consent_id, automatic_payment("80.00", day=last_day))
    assert (response.status_code, error_codes(body)) == (422, ["CONSENTIMENTO_INVALIDO"])
    RecurringPayment.objects.update(date=business_date())
    SandboxPayment.objects.filter(payment_id=payment["recurringPaymentId"]).update(scheduled_date=business_date())
    poll_recurring_payment_status(payment["recurringPaymentId"])
    assert RecurringPayment.objects.get(recurring_payment_id=payment["recurringPaymentId"]).status == "ACSC"


def test_beat_task_consumes_expired_consents_and_leaves_open_ended_ones(ap2):
    expiring = ap2.authorised_consent(sweeping_consent(expiration=expiry(1)), debtor=own(ANA_ACCOUNT))
    open_ended = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    RecurringConsent.objects.filter(recurring_consent_id=expiring).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert expire_due_recurring_consents() == 1
    assert RecurringConsent.objects.get(recurring_consent_id=expiring).status == "CONSUMED"
    assert RecurringConsent.objects.get(recurring_consent_id=open_ended).status == "AUTHORISED"
    response, body = ap2.post_payment(open_ended, sweeping_payment("5.00"))
    assert response.status_code == 201, body


def test_a_due_charge_the_bank_cannot_answer_backs_off_is_flagged_then_settles(ap2, settings, admin_client):
    settings.OPUSOF_POLL_ATTENTION_AFTER = 2
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    payment_id = ap2.pay(consent_id, automatic_payment("80.00"))["recurringPaymentId"]
    RecurringPayment.objects.update(date=business_date())
    SandboxPayment.objects.filter(payment_id=payment_id).update(scheduled_date=business_date())
    SandboxAccount.objects.filter(number="10000001").update(behaviour=SandboxAccount.Behaviour.OFFLINE)

    # the bank cannot be reached: the charge stays SCHD, its next poll waits out the backoff
    assert poll_recurring_payment_status(payment_id) == "SCHD"
    state = PaymentPollState.objects.get(recurring_payment__recurring_payment_id=payment_id)
    assert state.attempts == 1 and "indisponível" in state.last_error
    assert recurring_payments_due_for_poll() == [], "not polled again before its backoff"

    # still unanswered at the ceiling: flagged for staff
    PaymentPollState.objects.update(next_poll_at=timezone.now())
    assert recurring_payments_due_for_poll() == [payment_id]
    assert poll_recurring_payment_status(payment_id) == "SCHD"
    state.refresh_from_db()
    assert state.needs_attention and state.flagged_at is not None
    page = admin_client.get("/admin/payments/paymentpollstate/?needs_attention__exact=1")
    assert page.status_code == 200 and payment_id.encode() in page.content

    # the bank is back: the next poll settles it and clears the flag
    SandboxAccount.objects.filter(number="10000001").update(behaviour=SandboxAccount.Behaviour.NORMAL)
    PaymentPollState.objects.update(next_poll_at=timezone.now())
    assert recurring_payments_due_for_poll() == [payment_id]
    assert poll_recurring_payment_status(payment_id) == "ACSC"
    state.refresh_from_db()
    assert not state.needs_attention
