"""Money routes under faults that strike after the bank acted: the answer is lost (connection dropped, 500/502/504)
on every attempt. The payment is held (PDNG) and ends with the bank's status after the poll, never RJCT while the
bank paid, and the bank counts exactly one debit. Failures that provably happen before the request leaves stay an
infrastructure rejection. Classification: docs/reconciliation.md."""

import datetime as dt
import socket
from decimal import Decimal

import pytest

from connectors.http.client import HttpBank, _Retryable
from connectors.interfaces import ConnectorOutcomeUnknown
from connectors.models import SandboxAccount, SandboxLedgerEntry, SandboxPayment
from connectors.registry import payment_initiator, reset_connectors
from opusof.timeutil import business_date
from payments.cancellation import payment_cancel
from payments.models import PixPayment
from payments.services import payment_poll_status
from recurring.services.charges import recurring_payment_poll_status
from tests.connectors.http.test_http_recurring import ap2  # noqa: F401  (fixture)
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, consent_data, own, payment_item
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment

pytestmark = pytest.mark.django_db(transaction=True)

# Every attempt (OPUSOF_CONNECTOR_HTTP_MAX_ATTEMPTS, 3 in tests) loses its answer after the bank acted.
ALL_ATTEMPTS = 3
AFTER_PROCESSING = [
    pytest.param({"dropAfterProcessingNext": ALL_ATTEMPTS}, id="connection-dropped"),
    pytest.param({"errorAfterProcessingNext": ALL_ATTEMPTS, "errorStatus": 500}, id="500"),
    pytest.param({"errorAfterProcessingNext": ALL_ATTEMPTS, "errorStatus": 502}, id="502"),
    pytest.param({"errorAfterProcessingNext": ALL_ATTEMPTS, "errorStatus": 504}, id="504"),
]


def ana_balance() -> Decimal:
    return SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance


def debits(payment_id: str) -> int:
    return SandboxLedgerEntry.objects.filter(payment__payment_id=payment_id, direction="DEBIT").count()


@pytest.mark.parametrize("fault", AFTER_PROCESSING)
def test_payment_whose_answer_is_lost_after_the_bank_paid_ends_acsc_never_rjct(v4, http_connectors, faults, fault):
    before = ana_balance()
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    faults(routes=["initiate"], **fault)

    response, body = v4.post_payments(consent_id, [payment_item(data)])

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "PDNG"  # the bank paid; we do not know it yet, and do not guess RJCT
    sent = http_connectors.received("initiate")
    assert len(sent) == ALL_ATTEMPTS
    # Every attempt carried the one key the bank deduplicates on: three requests, one bank payment.
    assert {entry["body"]["idempotencyKey"] for entry in sent} == {payment["paymentId"]}
    assert SandboxPayment.objects.filter(payment_id=payment["paymentId"]).count() == 1

    payment_poll_status(payment_id=payment["paymentId"])

    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert not PixPayment.objects.get(payment_id=payment["paymentId"]).history.filter(to_status="RJCT").exists()
    assert debits(payment["paymentId"]) == 1
    assert ana_balance() == before - Decimal("100.00")


@pytest.mark.parametrize("fault", AFTER_PROCESSING)
def test_recurring_charge_whose_answer_is_lost_after_the_bank_paid_ends_acsc(ap2, http_connectors, faults, fault):  # noqa: F811
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    before = ana_balance()
    faults(routes=["initiate"], **fault)

    charge = ap2.pay(consent_id, sweeping_payment("10.00"))

    assert charge["status"] == "PDNG"
    sent = http_connectors.received("initiate")
    assert [entry["paymentType"] for entry in sent] == ["PAYMENT_RECURRING_CONSENT"] * ALL_ATTEMPTS
    assert {entry["body"]["idempotencyKey"] for entry in sent} == {charge["recurringPaymentId"]}
    faults(method="DELETE")

    polled = recurring_payment_poll_status(recurring_payment_id=charge["recurringPaymentId"])

    assert polled.status == "ACSC"
    assert not polled.history.filter(to_status="RJCT").exists()
    assert debits(charge["recurringPaymentId"]) == 1
    assert ana_balance() == before - Decimal("10.00")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_an_infrastructure_rejection_the_bank_never_saw(v4, http_connectors, settings):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    settings.OPUSOF_CONNECTOR_HTTP_BASE_URL = f"http://127.0.0.1:{_closed_port()}"
    reset_connectors()

    response, body = v4.post_payments(consent_id, [payment_item(data)])

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "RJCT"
    assert payment["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA_DETENTORA"
    assert http_connectors.received("initiate") == []
    assert not SandboxPayment.objects.filter(payment_id=payment["paymentId"]).exists()


def test_a_refused_connect_after_an_attempt_that_may_have_paid_is_still_unknown(
    v4, http_connectors, faults, monkeypatch
):
    """The last attempt's failure does not decide alone: an earlier one may have reached the bank."""
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    faults(routes=["initiate"], dropAfterProcessingNext=1)
    bank = payment_initiator()
    assert isinstance(bank, HttpBank)
    real_attempt = bank._attempt

    def first_real_then_refused(route, payload, number, *args):
        if number == 1:
            return real_attempt(route, payload, number, *args)
        # The bank goes away between attempts: the connection is refused, provably before sending.
        raise _Retryable("initiate: ConnectError", maybe_reached=False)

    monkeypatch.setattr(bank, "_attempt", first_real_then_refused)

    response, body = v4.post_payments(consent_id, [payment_item(data)])

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "PDNG"
    assert SandboxPayment.objects.get(payment_id=payment["paymentId"]).status == "ACSC"
    monkeypatch.undo()
    payment_poll_status(payment_id=payment["paymentId"])
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert debits(payment["paymentId"]) == 1


def test_cancellation_whose_answer_is_lost_is_retried_under_one_key_and_cancels_once(v4, http_connectors, faults):
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    payment_id = body["data"][0]["paymentId"]
    assert body["data"][0]["status"] == "SCHD"
    # The bank cancels, then the connection drops before its answer; the retry repeats the cancellation's key.
    faults(routes=["cancel"], dropAfterProcessingNext=1)

    payment = payment_cancel(
        payment_id=payment_id, client=None, cancelled_from="DETENTORA", document=ANA_CPF, rel="CPF", actor="test"
    )

    assert payment.status == "CANC"
    sent = http_connectors.received("cancel")
    assert len(sent) == 2
    keys = {entry["body"]["idempotencyKey"] for entry in sent}
    assert len(keys) == 1 and keys != {payment_id}
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "CANC"


def test_cancellation_whose_answer_is_lost_on_every_attempt_is_unknown_not_refused(v4, http_connectors, faults):
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    payment = PixPayment.objects.get(payment_id=body["data"][0]["paymentId"])
    faults(routes=["cancel"], errorAfterProcessingNext=ALL_ATTEMPTS, errorStatus=502)

    with pytest.raises(ConnectorOutcomeUnknown):
        payment_initiator_cancel(payment)

    assert SandboxPayment.objects.get(payment_id=payment.payment_id).status == "CANC"
    faults(method="DELETE")
    # Asked again later (the TPP's retry, the reconciliation), the same key gets the first answer, not a refusal.
    assert payment_initiator_cancel(payment).status == "CANC"


def payment_initiator_cancel(payment: PixPayment):
    from connectors.registry import payment_canceller
    from payments.services import payment_connector_context

    return payment_canceller().cancel_payment(
        payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id, context=payment_connector_context(payment)
    )
