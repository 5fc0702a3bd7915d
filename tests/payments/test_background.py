"""The beat sweeps: polling open payments, resubmitting stalled batches, expiring consents, purging keys."""

import datetime as dt

from django.utils import timezone

from connectors.models import SandboxAccount
from consents.expiry import consents_expire_due
from consents.models import PaymentConsent
from opusof.models import IdempotencyRecord
from opusof.services import idempotency_records_purge
from opusof.timeutil import business_date
from payments.batches import payment_batch_submit, payment_batches_stalled
from payments.models import PixPayment
from payments.services import payment_poll_status, payments_due_for_poll
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item


def test_open_payments_are_polled_until_final(v4):
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=0
    )
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    payment_id = body["data"][0]["paymentId"]
    assert payments_due_for_poll() == [payment_id]
    for due in payments_due_for_poll():
        payment_poll_status(payment_id=due)
    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert payments_due_for_poll() == []


def test_scheduled_payment_is_polled_only_from_its_date(v4):
    day = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    assert payments_due_for_poll() == []
    PixPayment.objects.update(scheduled_date=business_date())
    assert payments_due_for_poll() == [body["data"][0]["paymentId"]]


def test_stalled_batch_is_found_and_late_one_rejected(v4):
    start = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 2}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    v4.post_payments(consent_id, [payment_item(data, day=start + dt.timedelta(days=i)) for i in range(2)])
    assert payment_batches_stalled() == []
    PixPayment.objects.update(created_at=timezone.now() - dt.timedelta(minutes=5))
    [batch] = payment_batches_stalled()

    payment_batch_submit(batch_id=batch)
    assert set(PixPayment.objects.values_list("status", flat=True)) == {"SCHD"}


def test_consent_sweep_expires_without_a_read(v4):
    fresh = v4.create_consent(consent_data())
    stale = v4.create_consent(consent_data())
    PaymentConsent.objects.filter(consent_id=stale).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert consents_expire_due() == 1
    assert PaymentConsent.objects.get(consent_id=stale).rejection_reason == "TEMPO_EXPIRADO_AUTORIZACAO"
    assert PaymentConsent.objects.get(consent_id=fresh).status == "AWAITING_AUTHORISATION"
    assert consents_expire_due() == 0


def test_idempotency_records_expire(v4):
    v4.create_consent(consent_data())
    assert IdempotencyRecord.objects.count() == 1
    assert idempotency_records_purge() == 0
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert idempotency_records_purge() == 1
