"""Status polling of payments the bank left open: exponential backoff per payment, a ceiling that flags the payment
for staff in the admin, and a reset once the bank moves it on."""

import datetime as dt

import pytest
from django.utils import timezone

from connectors.models import SandboxAccount, SandboxPayment
from payments.lifecycle import poll_backoff
from payments.models import PaymentPollState, PixPayment
from payments.scheduling import payment_poll_with_backoff, payments_poll_candidates
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db


def _pay(v4, amount: str) -> str:
    data = consent_data(amount=amount)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data)])
    return str(body["data"][0]["paymentId"])


def _make_due(payment_id: str) -> None:
    PaymentPollState.objects.filter(payment__payment_id=payment_id).update(
        next_poll_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_backoff_doubles_up_to_the_cap(settings):
    settings.OPUSOF_POLL_BASE_SECONDS = 30
    settings.OPUSOF_POLL_MAX_SECONDS = 3600
    assert [poll_backoff(n).total_seconds() for n in (1, 2, 3, 4, 8, 20)] == [30, 60, 120, 240, 3600, 3600]


def test_a_payment_stuck_at_the_bank_backs_off_and_is_flagged_for_staff(v4, settings, admin_client):
    settings.OPUSOF_POLL_ATTENTION_AFTER = 3
    payment_id = _pay(v4, "1334.00")  # sandbox scenario: ACPD, and it stays there
    assert payments_poll_candidates() == [payment_id]

    before = timezone.now()
    assert payment_poll_with_backoff(payment_id=payment_id) == "ACPD"
    state = PaymentPollState.objects.get(payment__payment_id=payment_id)
    assert state.attempts == 1 and not state.needs_attention
    assert state.next_poll_at >= before + dt.timedelta(seconds=30)
    assert payments_poll_candidates() == [], "not polled again before its backoff"

    _make_due(payment_id)
    payment_poll_with_backoff(payment_id=payment_id)
    state.refresh_from_db()
    assert state.attempts == 2 and state.next_poll_at >= timezone.now() + dt.timedelta(seconds=59)
    _make_due(payment_id)
    payment_poll_with_backoff(payment_id=payment_id)
    state.refresh_from_db()
    assert state.attempts == 3 and state.needs_attention and state.flagged_at is not None

    page = admin_client.get("/admin/payments/paymentpollstate/?needs_attention__exact=1")
    assert page.status_code == 200 and payment_id.encode() in page.content
    calm = admin_client.get("/admin/payments/paymentpollstate/?needs_attention__exact=0")
    assert payment_id.encode() not in calm.content


def test_polling_stops_and_the_flag_clears_when_the_bank_settles(v4, settings):
    settings.OPUSOF_POLL_ATTENTION_AFTER = 1
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=3600
    )
    payment_id = _pay(v4, "100.00")
    assert payment_poll_with_backoff(payment_id=payment_id) == "PDNG"
    assert PaymentPollState.objects.get(payment__payment_id=payment_id).needs_attention

    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(settle_delay_seconds=0)
    SandboxPayment.objects.filter(payment_id=payment_id).update(settle_after=timezone.now())
    _make_due(payment_id)
    assert payment_poll_with_backoff(payment_id=payment_id) == "ACSC"
    state = PaymentPollState.objects.get(payment__payment_id=payment_id)
    assert not state.needs_attention and state.attempts == 1
    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert payments_poll_candidates() == []


def test_an_unreachable_bank_is_recorded_and_backed_off(v4):
    payment_id = _pay(v4, "1335.00")  # sandbox scenario: ACCP, stays there
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(behaviour=SandboxAccount.Behaviour.OFFLINE)

    assert payment_poll_with_backoff(payment_id=payment_id) == "ACCP"

    state = PaymentPollState.objects.get(payment__payment_id=payment_id)
    assert "indisponível" in state.last_error and state.attempts == 1
    assert payments_poll_candidates() == []
