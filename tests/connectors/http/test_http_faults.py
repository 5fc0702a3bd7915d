"""The HTTP connector on a bad day: a slow bank, 503s, a connection dropped after the bank paid, an outage long
enough to open the circuit breaker. Faults are switched on the reference bank through its /_faults route."""

import time
from decimal import Decimal

import pytest

from connectors.http import calllog
from connectors.http.client import breaker_for
from connectors.interfaces import ConnectorRejected, ConnectorUnavailable
from connectors.models import ConnectorCall, SandboxAccount, SandboxLedgerEntry
from connectors.registry import payment_status_reader, reset_connectors
from connectors.sandbox import SandboxBank
from consents.services import consent_authorise
from opusof.ofb import account_from_wire
from payments.models import PaymentPollState, PixPayment
from payments.scheduling import payment_poll_with_backoff
from payments.services import payment_poll_status
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


def ana_balance() -> Decimal:
    return SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance


def debits(payment_id: str) -> int:
    return SandboxLedgerEntry.objects.filter(payment__payment_id=payment_id, direction="DEBIT").count()


def calls(route: str) -> list[tuple[int, str, int | None]]:
    assert calllog.flush()
    return [(c.attempt, c.outcome, c.http_status) for c in ConnectorCall.objects.filter(route=route).order_by("pk")]


def pay(v4, amount: str = "100.00"):
    data = consent_data(amount=amount)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    return response, body


def test_bank_slower_than_the_timeout_is_held_then_polled_to_its_outcome(v4, http_connectors, faults, settings):
    settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = {**settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS, "initiate": 0.5}
    reset_connectors()
    faults(latencySeconds=1.5, routes=["initiate"])
    before = ana_balance()
    started = time.monotonic()

    response, body = pay(v4)

    assert response.status_code == 201, body  # never a 500
    [payment] = body["data"]
    # The bank may still pay after a read timeout: the payment is held, not rejected.
    assert payment["status"] == "PDNG"
    # A read timeout is not retried: the bank may still be working on it and the TPP is waiting.
    assert calls("initiate") == [(1, "UNAVAILABLE", None)]
    assert ConnectorCall.objects.get(route="initiate").error_code == "ReadTimeout"
    assert time.monotonic() - started < 5
    # The slow bank finishes the payment it received (its debit appears), however loaded the machine.
    deadline = time.monotonic() + 30
    while debits(payment["paymentId"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    faults(method="DELETE")
    payment_poll_status(payment_id=payment["paymentId"])
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert ana_balance() == before - Decimal("100.00")


def test_503_then_recovering_is_retried_and_succeeds(v4, http_connectors, faults):
    before = ana_balance()
    faults(errorNext=2, errorStatus=503, routes=["initiate"])

    response, body = pay(v4)

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "ACSC"
    assert calls("initiate") == [(1, "UNAVAILABLE", 503), (2, "UNAVAILABLE", 503), (3, "OK", 201)]
    assert faults(method="GET")["calls"]["initiate"] == 3
    assert debits(payment["paymentId"]) == 1
    assert ana_balance() == before - Decimal("100.00")


def test_503_beyond_the_retries_is_held_then_initiated_again_with_the_same_key(v4, http_connectors, faults):
    # The contract gives a 503 no "not processed" meaning, so on the initiate route it is an unknown outcome.
    before = ana_balance()
    faults(errorNext=5, errorStatus=503, routes=["initiate"])

    response, body = pay(v4)

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "PDNG"
    assert [c[1] for c in calls("initiate")] == ["UNAVAILABLE"] * 3
    faults(method="DELETE")
    # The bank never got it: the poll hears NAO_INFORMADO and initiates again under the one idempotency key.
    payment_poll_status(payment_id=payment["paymentId"])
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert {entry["body"]["idempotencyKey"] for entry in http_connectors.received("initiate")} == {payment["paymentId"]}
    assert debits(payment["paymentId"]) == 1
    assert ana_balance() == before - Decimal("100.00")


def test_a_4xx_is_never_retried(v4, http_connectors, faults):
    faults(errorNext=1, errorStatus=400, routes=["initiate"])

    response, body = pay(v4)

    assert response.status_code == 201, body
    assert body["data"][0]["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA_DETENTORA"
    assert calls("initiate") == [(1, "UNAVAILABLE", 400)]


def test_connection_dropped_after_the_bank_paid_is_retried_and_paid_once(v4, http_connectors, faults):
    before = ana_balance()
    # The bank does the work, then the connection drops before its answer: the response is lost, not the payment.
    faults(dropAfterProcessingNext=1, routes=["initiate"])

    response, body = pay(v4)

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "ACSC"
    assert calls("initiate") == [(1, "UNAVAILABLE", None), (2, "OK", 201)]
    assert faults(method="GET")["calls"]["initiate"] == 2
    # The retry carried the same idempotencyKey: the sandbox ledger shows one debit and the balance moved once.
    assert debits(payment["paymentId"]) == 1
    assert ana_balance() == before - Decimal("100.00")
    assert PixPayment.objects.get(payment_id=payment["paymentId"]).status == "ACSC"


def test_connection_dropped_before_processing_is_retried(v4, http_connectors, faults):
    faults(dropNext=1, routes=["initiate"])

    response, body = pay(v4)

    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"
    assert calls("initiate") == [(1, "UNAVAILABLE", None), (2, "OK", 201)]


def test_outage_opens_the_breaker_which_fails_fast_then_recovers(v4, http_connectors, faults):
    # The scenario's PDNG settles after the account's settle_delay_seconds (2 s); this test's retries and breaker
    # reset outlast that on a loaded machine, so the payment must stay pending for the whole test.
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(settle_delay_seconds=600)
    response, body = pay(v4, amount="12345.00")  # scenario: PDNG, so the status route has something to say
    payment_id, end_to_end_id = body["data"][0]["paymentId"], body["data"][0]["endToEndId"]
    reader = payment_status_reader()
    faults(down=True, routes=["status"])

    # fail_max (3, conftest) logical calls that end unavailable, each after its retries, open the breaker.
    for _ in range(3):
        with pytest.raises(ConnectorUnavailable):
            reader.get_payment_status(payment_id=payment_id, end_to_end_id=end_to_end_id)
    assert breaker_for(http_connectors.base_url, "status").current_state == "open"
    received = faults(method="GET")["calls"]["status"]
    assert received == 9

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable):
        reader.get_payment_status(payment_id=payment_id, end_to_end_id=end_to_end_id)
    # Failed fast: the proof is that no attempt reached the bank (the count below); the time bound only catches a
    # wait for a timeout, and is loose enough for a loaded CI machine (0.05 s failed there once in six runs).
    assert time.monotonic() - started < 0.25
    assert faults(method="GET")["calls"]["status"] == received  # without reaching the bank
    assert (0, "CIRCUIT_OPEN", None) in calls("status")
    # Other routes have their own breaker: initiation still works while the status route is open.
    assert pay(v4)[1]["data"][0]["status"] == "ACSC"

    faults(method="DELETE")
    time.sleep(1.1)  # reset timeout (conftest): the next call is the half-open trial
    result = reader.get_payment_status(payment_id=payment_id, end_to_end_id=end_to_end_id)

    assert result.status == "PDNG"
    assert breaker_for(http_connectors.base_url, "status").current_state == "closed"


def test_refusals_do_not_open_the_breaker(http_connectors, demo_bank):
    reader = payment_status_reader()
    for _ in range(5):
        with pytest.raises(ConnectorRejected) as refused:
            reader.get_payment_status(payment_id="unknown", end_to_end_id="E1")
        assert refused.value.code == "NAO_INFORMADO"
    assert breaker_for(http_connectors.base_url, "status").current_state == "closed"
    assert [c[1] for c in calls("status")] == ["REJECTED"] * 5


def test_bank_down_at_consent_authorisation_rejects_with_infrastructure_failure(v4, http_connectors, faults):
    faults(down=True, routes=["validate"])

    data = consent_data()
    consent_id = v4.create_consent(data)
    consent = consent_authorise(
        consent_id=consent_id, debtor_account=account_from_wire(own(ANA_ACCOUNT)), actor="customer:test"
    )

    assert consent.status == "REJECTED"
    assert consent.rejection_reason == "FALHA_INFRAESTRUTURA"
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA"
    # Logged although the authorisation's transaction wrote the rejection: rows go through their own connection.
    assert [c[1] for c in calls("validate")] == ["UNAVAILABLE"] * 3


def test_fault_switches_round_trip(http_connectors, faults):
    state = faults(latencySeconds=0.2, errorNext=1, errorStatus=504, routes=["status"])
    assert (state["latencySeconds"], state["errorNext"], state["errorStatus"], state["routes"]) == (
        0.2,
        1,
        504,
        ["status"],
    )
    cleared = faults(method="DELETE")
    assert (cleared["latencySeconds"], cleared["errorNext"], cleared["down"], cleared["routes"]) == (0.0, 0, False, [])


def test_status_polling_through_an_outage_keeps_the_payment_open_then_settles(v4, http_connectors, faults):
    response, body = pay(v4, amount="12345.00")  # PDNG
    payment_id = body["data"][0]["paymentId"]
    faults(down=True, routes=["status"])

    assert payment_poll_with_backoff(payment_id=payment_id) == "PDNG"

    payment = PixPayment.objects.get(payment_id=payment_id)
    assert payment.status == "PDNG"
    assert "detentora indisponível" in PaymentPollState.objects.get(payment=payment).last_error
    assert v4.get_payment(payment_id)["status"] == "PDNG"  # the TPP's read is unaffected

    faults(method="DELETE")
    SandboxBank().force_settle(payment_id)
    assert payment_poll_with_backoff(payment_id=payment_id) == "ACSC"
    assert v4.get_payment(payment_id)["status"] == "ACSC"
    assert debits(payment_id) == 1


def test_a_scheduled_payment_whose_answer_is_lost_is_held_then_found_scheduled(v4, http_connectors, faults, settings):
    import datetime as dt

    from opusof.timeutil import business_date

    settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = {**settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS, "initiate": 0.5}
    reset_connectors()
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    faults(latencySeconds=1.5, routes=["initiate"])

    response, body = v4.post_payments(consent_id, [payment_item(data, day=day)])

    assert response.status_code == 201, body
    payment_id = body["data"][0]["paymentId"]
    assert body["data"][0]["status"] == "PDNG"  # the bank may have scheduled it: held, not rejected
    time.sleep(1.2)  # the slow bank finishes scheduling it
    faults(method="DELETE")
    assert payment_poll_with_backoff(payment_id=payment_id) == "SCHD"
    assert v4.get_payment(payment_id)["status"] == "SCHD"
