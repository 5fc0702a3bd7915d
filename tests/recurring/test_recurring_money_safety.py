"""Automatic payments v2 under the one Pix payment lifecycle (payments/lifecycle.py, docs/money-safety.md): a charge
whose initiation never reached the bank is initiated again with the same key by the poll, not polled until staff
are flagged; a retried request resumes its charge."""

from decimal import Decimal
from typing import Any

import pytest

import recurring.services.amendments
from connectors.interfaces import ConnectorOutcomeUnknown, PaymentInitiation
from connectors.models import SandboxLedgerEntry, SandboxPayment
from connectors.sandbox import SandboxBank
from payments.models import PaymentPollState
from recurring.models import RecurringPayment
from recurring.services.amendments import recurring_consent_revoke
from recurring.services.charges import recurring_payment_poll_with_backoff, recurring_payments_due_for_poll
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    automatic_consent,
    automatic_payment,
    own,
    sweeping_consent,
    sweeping_payment,
)


def ana_debits() -> int:
    return SandboxLedgerEntry.objects.filter(account__number=ANA_ACCOUNT["number"], direction="DEBIT").count()


@pytest.fixture
def initiations(monkeypatch: pytest.MonkeyPatch) -> list[PaymentInitiation]:
    """Every initiation the sandbox bank is asked for; the first one is lost on its way (the bank never sees it)
    and its caller's read timeout fires: the outcome is unknown to opusof."""
    asked: list[PaymentInitiation] = []
    real = SandboxBank.initiate_payment

    def lose_the_first(self: SandboxBank, initiation: PaymentInitiation) -> Any:
        asked.append(initiation)
        if len(asked) == 1:
            raise ConnectorOutcomeUnknown("ReadTimeout")
        return real(self, initiation)

    monkeypatch.setattr(SandboxBank, "initiate_payment", lose_the_first)
    return asked


def test_a_charge_held_pdng_the_bank_does_not_know_is_initiated_again_once_with_the_same_key(
    ap2, initiations, settings
):
    settings.OPUSOF_POLL_ATTENTION_AFTER = 2
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = ap2.pay(consent_id, sweeping_payment("7.00"))
    payment_id = charge["recurringPaymentId"]
    assert charge["status"] == "PDNG"  # the answer was lost: held, never rejected
    assert not SandboxPayment.objects.filter(payment_id=payment_id).exists()  # and the bank never got it
    assert payment_id in recurring_payments_due_for_poll()

    assert recurring_payment_poll_with_backoff(recurring_payment_id=payment_id) == "ACSC"

    assert [i.idempotency_key for i in initiations] == [payment_id, payment_id]
    assert RecurringPayment.objects.get(recurring_payment_id=payment_id).status == "ACSC"
    assert ana_debits() == 1
    state = PaymentPollState.objects.get(recurring_payment__recurring_payment_id=payment_id)
    assert not state.needs_attention and state.last_error == ""
    assert recurring_payments_due_for_poll() == []
    assert recurring_payment_poll_with_backoff(recurring_payment_id=payment_id) == "ACSC"
    assert len(initiations) == 2, "a final payment is never initiated again"


def test_a_retried_charge_request_resumes_its_payment_and_the_bank_pays_once(ap2, initiations):
    """The same POST (same x-idempotency-key) sent again after its first attempt got no answer from the bank: the
    same recorded charge, asked of the bank with the same key."""
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    body = sweeping_payment("7.00")
    first, first_body = ap2.post_payment(consent_id, body, idempotency_key="charge-once")
    assert first.status_code == 201 and first_body["data"]["status"] == "PDNG"
    # The stored answer is replayed; once it is gone (a crash before it was stored), the request runs again.
    from opusof.models import IdempotencyRecord

    IdempotencyRecord.objects.filter(key="charge-once").update(response_status=None, response_body="")
    RecurringPayment.objects.update(status="RCVD")  # as a crash before the hold was committed would leave it

    again, again_body = ap2.post_payment(consent_id, body, idempotency_key="charge-once")

    assert again.status_code == 201, again_body
    assert again_body["data"]["recurringPaymentId"] == first_body["data"]["recurringPaymentId"]
    assert again_body["data"]["status"] == "ACSC"
    assert RecurringPayment.objects.count() == 1
    assert ana_debits() == 1
    assert Decimal(again_body["data"]["payment"]["amount"]) == Decimal("7.00")


def test_a_withdrawal_recorded_with_a_revocation_is_completed_by_the_poll_after_a_crash(ap2, monkeypatch, settings):
    """The revocation commits with the cancellation of a later charge recorded; the process dies before asking the
    bank; the poll asks the bank to cancel it and records the holder's cancellation."""
    settings.OPUSOF_STRANDED_AFTER_SECONDS = 0
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    charge = ap2.pay(consent_id, automatic_payment("120.00", days_ahead=5))
    payment_id = charge["recurringPaymentId"]
    assert charge["status"] == "SCHD"
    monkeypatch.setattr(recurring.services.amendments, "withdraw_recorded", lambda payment_ids: None)  # the crash

    recurring_consent_revoke(
        recurring_consent_id=consent_id,
        code="REVOGADO_USUARIO",
        detail="",
        revoked_by="USUARIO",
        revoked_from="DETENTORA",
        actor="customer:ana",
    )

    recorded = RecurringPayment.objects.get(recurring_payment_id=payment_id)
    assert recorded.status == "SCHD" and recorded.cancel_request is not None
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "SCHD"
    assert recurring_payments_due_for_poll() == [payment_id]

    assert recurring_payment_poll_with_backoff(recurring_payment_id=payment_id) == "CANC"

    cancelled = RecurringPayment.objects.get(recurring_payment_id=payment_id)
    assert (cancelled.cancelled_from, cancelled.cancellation_reason) == ("DETENTORA", "CANCELADO_AGENDAMENTO")
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "CANC"
    assert recurring_payments_due_for_poll() == []
