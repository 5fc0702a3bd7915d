"""Record before effect on POST /pix/payments with the sandbox bank (docs/money-safety.md): a request whose first
attempt committed its payment and got no answer is resumed by its retry (same x-idempotency-key, same data), the key
stays bound to that data, and two requests racing on one consent make one payment and one debit."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from connectors.interfaces import ConnectorRejected, ConnectorUnavailable, PaymentInitiation
from connectors.models import SandboxLedgerEntry, SandboxPayment
from connectors.sandbox import SandboxBank
from opusof.models import IdempotencyRecord
from opusof.timeutil import business_date
from opusof.tokens import access_token_mint
from payments.batches import payment_batch_submit
from payments.models import PaymentPollState, PixPayment
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import error_codes
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment


def test_a_request_answered_by_nobody_is_resumed_by_its_retry_and_its_key_stays_bound_to_its_data(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    first, first_body = v4.post_payments(consent_id, [item], idempotency_key="lost-answer")
    assert first.status_code == 201, first_body
    # As a crash after the payment's commits and before the answer was stored would leave it.
    IdempotencyRecord.objects.filter(key="lost-answer").update(response_status=None, response_body="")

    other, other_body = v4.post_payments(consent_id, [payment_item(data)], idempotency_key="lost-answer")
    again, again_body = v4.post_payments(consent_id, [item], idempotency_key="lost-answer")

    assert error_codes(other_body) == ["ERRO_IDEMPOTENCIA"], other_body
    assert again.status_code == 201, again_body
    assert again_body["data"] == first_body["data"]
    assert PixPayment.objects.count() == 1 and SandboxPayment.objects.count() == 1


def test_a_new_request_on_a_consumed_consent_reusing_the_body_is_refused_not_resumed(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    v4.post_payments(consent_id, [item], idempotency_key="first")

    response, body = v4.post_payments(consent_id, [item], idempotency_key="second")

    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]
    assert PixPayment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_on_one_consent_make_one_payment_and_one_debit(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    token = v4.consent_token(consent_id)

    def post(n: int) -> tuple[int, list[str]]:
        v4.tpp.api = APIClient()
        try:
            response, body = v4.post_payments(consent_id, [payment_item(data)], token=token, idempotency_key=f"k{n}")
            return response.status_code, error_codes(body) if response.status_code != 201 else []
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(8)))

    assert sorted(status for status, _ in results) == [201] + [422] * 7
    assert {code for _, codes in results for code in codes} == {"CONSENTIMENTO_INVALIDO"}
    assert PixPayment.objects.count() == 1
    assert SandboxLedgerEntry.objects.filter(direction="DEBIT").count() == 1


def test_an_end_to_end_id_a_recurring_charge_carries_is_422_for_a_payment(v4, tpp, demo_bank):
    ap2 = AutomaticPaymentsV2(
        tpp=tpp,
        token=access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"]),
    )
    recurring_consent = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = ap2.pay(recurring_consent, sweeping_payment("7.00"))
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))

    response, body = v4.post_payments(consent_id, [payment_item(data, endToEndId=charge["endToEndId"])])

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]
    assert not PixPayment.objects.exists() and SandboxPayment.objects.count() == 1


def test_a_failed_schedule_whose_scheduled_occurrence_the_bank_will_not_cancel_is_flagged(v4, monkeypatch):
    """A multi-item schedule: the first occurrence is scheduled, the second refused, and the bank cannot be reached
    to cancel the first. Every occurrence is RJCT FALHA_AGENDAMENTO_PAGAMENTOS (v4 recurring rules), and the one
    the bank still holds is flagged for staff, not left to be paid on its date unnoticed."""
    start = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 2}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data, day=start + dt.timedelta(days=n)) for n in range(2)])
    first, second = (p["paymentId"] for p in body["data"])
    real = SandboxBank.initiate_payment

    def refuse_the_second(self: SandboxBank, initiation: PaymentInitiation) -> Any:
        if initiation.payment_id == second:
            raise ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA", "recusado")
        return real(self, initiation)

    def unreachable(self: SandboxBank, **_: Any) -> Any:
        raise ConnectorUnavailable("connect timeout")

    monkeypatch.setattr(SandboxBank, "initiate_payment", refuse_the_second)
    monkeypatch.setattr(SandboxBank, "cancel_payment", unreachable)

    payment_batch_submit(batch_id=str(PixPayment.objects.get(payment_id=first).batch_id))

    assert {v4.get_payment(p)["rejectionReason"]["code"] for p in (first, second)} == {"FALHA_AGENDAMENTO_PAGAMENTOS"}
    assert SandboxPayment.objects.get(payment_id=first).status == "SCHD"
    flagged = PaymentPollState.objects.get(needs_attention=True)
    assert flagged.payment is not None and flagged.payment.payment_id == first
