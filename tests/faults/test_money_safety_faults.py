"""Fault injection between the bank's answer and our commit (docs/money-safety.md), through the HTTP connector and
the reference bank: the process killed there (a subprocess that dies at payments.lifecycle's fault point, as kill -9
would) or its database connection terminated there (pg_terminate_backend), then the normal recovery (the poll the
beat runs, a retry of the same request). Each test counts at the bank and in opusof: 0 orphan debits, 0 doubles, 0
payments left open without a staff flag, and every payment the bank knows in the bank's status."""

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.db.models import Count

from connectors.models import SandboxLedgerEntry, SandboxPayment
from opusof.timeutil import business_date
from opusof.tokens import access_token_mint
from payments.models import FINAL_PAYMENT_STATUSES, PaymentPollState, PixPayment
from payments.scheduling import payment_poll_with_backoff, payments_poll_candidates
from payments.services import payment_create, payment_create_with_enrollment, payment_id_for
from recurring.models import RecurringPayment
from recurring.services.charges import (
    recurring_payment_create,
    recurring_payment_id_for,
    recurring_payment_poll_with_backoff,
    recurring_payments_due_for_poll,
)
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, consent_data, own, payment_item
from tests.support.processes import child_process_environment
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment
from tests.support.tpp import TppActor

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
KILLED = 75  # payments.lifecycle.fault_point's exit status


@pytest.fixture
def ap2(tpp: TppActor, demo_bank: dict[str, Any]) -> AutomaticPaymentsV2:
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"])
    return AutomaticPaymentsV2(tpp=tpp, token=token)


@pytest.fixture
def v2(tpp: TppActor, client_credentials_token: str, demo_bank: dict[str, Any]) -> EnrollmentsV2:
    return EnrollmentsV2(tpp=tpp, token=client_credentials_token)


@pytest.fixture
def recovery(settings: Any) -> None:
    """The poll treats a payment handed to the bank and still RCVD as stranded at once (not after 2 minutes)."""
    settings.OPUSOF_STRANDED_AFTER_SECONDS = 0


def run_until_killed(bank_url: str, job: dict[str, Any], *, point: str = "after-bank-answer") -> None:
    """Runs the job's service in a process of its own that dies at ``point``."""
    env = child_process_environment(
        OPUSOF_FAULT_POINT=point,
        OPUSOF_CONNECTOR_HTTP_BASE_URL=bank_url,
        **{
            f"OPUSOF_CONNECTOR_{name}": "connectors.http.HttpBank"
            for name in ("VALIDATE", "DISCOVERY", "INITIATE", "STATUS", "CANCEL")
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.fault_runner", json.dumps(job, default=str)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == KILLED, done.stderr[-3000:]


def poll_like_the_beat() -> None:
    """What the beat's poll_open_payments / poll_open_recurring_payments tasks run, for every due payment."""
    for payment_id in payments_poll_candidates():
        payment_poll_with_backoff(payment_id=payment_id)
    for payment_id in recurring_payments_due_for_poll():
        recurring_payment_poll_with_backoff(recurring_payment_id=payment_id)


def assert_bank_and_opusof_agree() -> None:
    ours = {p.payment_id: p for p in PixPayment.objects.all()} | {
        p.recurring_payment_id: p for p in RecurringPayment.objects.all()
    }
    at_bank = {p.payment_id: p for p in SandboxPayment.objects.all()}
    orphans = sorted(set(at_bank) - set(ours))
    assert orphans == [], "a bank payment opusof has no record of"
    doubles = SandboxLedgerEntry.objects.filter(direction="DEBIT").values("payment").annotate(n=Count("pk"))
    assert [d for d in doubles if d["n"] > 1] == []
    assert [e for e, n in Counter(p.end_to_end_id for p in at_bank.values()).items() if n > 1] == []
    flagged = set(PaymentPollState.objects.filter(needs_attention=True).values_list("pk", flat=True))
    open_states = {
        **dict(PaymentPollState.objects.filter(payment__isnull=False).values_list("payment__payment_id", "pk")),
        **dict(
            PaymentPollState.objects.filter(recurring_payment__isnull=False).values_list(
                "recurring_payment__recurring_payment_id", "pk"
            )
        ),
    }
    # SCHD waits for its date at the bank; anything else not final must be flagged for staff.
    stuck = [
        key
        for key, payment in ours.items()
        if payment.status not in (*FINAL_PAYMENT_STATUSES, "SCHD") and open_states.get(key) not in flagged
    ]
    assert stuck == [], "a payment left open without a staff flag"
    disagree = [
        (key, ours[key].status, bank.status) for key, bank in at_bank.items() if ours[key].status != bank.status
    ]
    assert disagree == []


def test_immediate_payment_killed_after_the_bank_paid_is_found_by_the_poll_and_its_retry(v4, http_connectors, recovery):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    payment_id = payment_id_for(consent_id, item["endToEndId"])

    job = {"service": "payment_create", "client": v4.tpp.client.pk, "consent_id": consent_id, "items": [item]}
    run_until_killed(http_connectors.base_url, {**job, "key": "pay-after-crash"})

    # Committed before the bank was asked: RCVD, handed to the bank, with its key; the bank paid it.
    stranded = PixPayment.objects.get(payment_id=payment_id)
    assert (stranded.status, stranded.request_key) == ("RCVD", "pay-after-crash")
    assert stranded.bank_requested_at is not None
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert v4.get_consent(consent_id)["status"] == "CONSUMED"

    # The TPP, which got no answer, sends the same request again: the same payment, as the bank has it.
    response, body = v4.post_payments(consent_id, [item], idempotency_key="pay-after-crash")
    assert response.status_code == 201, body
    assert [(p["paymentId"], p["status"]) for p in body["data"]] == [(payment_id, "ACSC")]
    assert len(http_connectors.received("initiate")) == 1, "the bank knew it: asked, not initiated again"
    assert_bank_and_opusof_agree()


def test_killed_then_recovered_by_the_poll_alone(v4, http_connectors, recovery):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    job = {"service": "payment_create", "client": v4.tpp.client.pk, "consent_id": consent_id, "items": [item]}
    run_until_killed(http_connectors.base_url, {**job, "key": "k"})
    payment_id = payment_id_for(consent_id, item["endToEndId"])
    assert payment_id in payments_poll_candidates()

    poll_like_the_beat()

    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert_bank_and_opusof_agree()


def test_refused_payment_killed_before_the_refusal_was_recorded_is_rejected_by_the_poll(v4, http_connectors, recovery):
    data = consent_data(amount="20422.00")  # sandbox scenario: the holder refuses at initiation, keeping nothing
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    job = {"service": "payment_create", "client": v4.tpp.client.pk, "consent_id": consent_id, "items": [item]}
    run_until_killed(http_connectors.base_url, {**job, "key": "k"})
    payment_id = payment_id_for(consent_id, item["endToEndId"])

    poll_like_the_beat()

    payment = PixPayment.objects.get(payment_id=payment_id)
    assert (payment.status, payment.rejection_reason) == ("RJCT", "PAGAMENTO_RECUSADO_DETENTORA")
    assert not SandboxLedgerEntry.objects.exists()
    assert_bank_and_opusof_agree()


def test_database_connection_lost_after_the_bank_paid(v4, http_connectors, recovery, monkeypatch):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    monkeypatch.setenv("OPUSOF_FAULT_POINT", "after-bank-answer")
    monkeypatch.setenv("OPUSOF_FAULT_ACTION", "drop-db")

    with pytest.raises(DatabaseError):
        payment_create(client=v4.tpp.client, consent_id=consent_id, items=[item], request_key="k")

    monkeypatch.delenv("OPUSOF_FAULT_POINT")
    connection.close()  # the pool's next use reconnects
    payment_id = payment_id_for(consent_id, item["endToEndId"])
    assert PixPayment.objects.get(payment_id=payment_id).status == "RCVD"
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "ACSC"

    poll_like_the_beat()

    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert_bank_and_opusof_agree()


def test_recurring_charge_killed_after_the_bank_paid(ap2, http_connectors, recovery):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = sweeping_payment("7.00")
    job = {"service": "recurring_payment_create", "client": ap2.tpp.client.pk, "consent_id": consent_id}
    run_until_killed(http_connectors.base_url, {**job, "data": charge, "key": "charge"})
    payment_id = recurring_payment_id_for(consent_id, charge["endToEndId"])
    assert RecurringPayment.objects.get(recurring_payment_id=payment_id).status == "RCVD"
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "ACSC"

    poll_like_the_beat()

    assert RecurringPayment.objects.get(recurring_payment_id=payment_id).status == "ACSC"
    response, body = ap2.post_payment(consent_id, charge, idempotency_key="charge")
    assert response.status_code == 201, body
    assert (body["data"]["recurringPaymentId"], body["data"]["status"]) == (payment_id, "ACSC")
    assert len(http_connectors.received("initiate")) == 1
    assert_bank_and_opusof_agree()


def test_recurring_charge_database_connection_lost_after_the_bank_paid(ap2, http_connectors, recovery, monkeypatch):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = sweeping_payment("7.00")
    monkeypatch.setenv("OPUSOF_FAULT_POINT", "after-bank-answer")
    monkeypatch.setenv("OPUSOF_FAULT_ACTION", "drop-db")

    with pytest.raises(DatabaseError):
        recurring_payment_create(client=ap2.tpp.client, recurring_consent_id=consent_id, data=charge, request_key="k")

    monkeypatch.delenv("OPUSOF_FAULT_POINT")
    connection.close()
    poll_like_the_beat()

    payment_id = recurring_payment_id_for(consent_id, charge["endToEndId"])
    assert RecurringPayment.objects.get(recurring_payment_id=payment_id).status == "ACSC"
    assert_bank_and_opusof_agree()


def fido_consent(v2: EnrollmentsV2, v4: Any, enrollment_id: str, data: dict[str, Any]) -> str:
    consent_id: str = v4.create_consent(data)
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
    assert response.status_code == 204, body
    return consent_id


def test_fido_payment_killed_after_the_bank_paid(v2, v4, http_connectors, recovery):
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="150.00")
    data = consent_data(amount="100.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    item = payment_item(data, authorisationFlow="FIDO_FLOW", consentId=consent_id)
    job = {"service": "payment_create_with_enrollment", "client": v4.tpp.client.pk, "enrollment_id": enrollment_id}
    run_until_killed(http_connectors.base_url, {**job, "items": [item], "key": "fido"})
    payment_id = payment_id_for(consent_id, item["endToEndId"])
    assert PixPayment.objects.get(payment_id=payment_id).status == "RCVD"

    # The stranded payment counts against the enrollment's daily limit (150.00) before the poll resolves it.
    second = consent_data(amount="100.00")
    second_consent = fido_consent(v2, v4, enrollment_id, second)
    response, body = v4.post_payments(
        second_consent,
        [payment_item(second, authorisationFlow="FIDO_FLOW", consentId=second_consent)],
        token=v2.journey_token(enrollment_id),
    )
    assert response.status_code == 422 and body["errors"][0]["code"] == "VALOR_ACIMA_LIMITE", body

    poll_like_the_beat()

    assert PixPayment.objects.get(payment_id=payment_id).status == "ACSC"
    assert_bank_and_opusof_agree()


def test_fido_payment_database_connection_lost_after_the_bank_paid(v2, v4, http_connectors, recovery, monkeypatch):
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1500.00")
    data = consent_data(amount="100.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    item = payment_item(data, authorisationFlow="FIDO_FLOW", consentId=consent_id)
    monkeypatch.setenv("OPUSOF_FAULT_POINT", "after-bank-answer")
    monkeypatch.setenv("OPUSOF_FAULT_ACTION", "drop-db")

    with pytest.raises(DatabaseError):
        payment_create_with_enrollment(
            client=v4.tpp.client, enrollment_id=enrollment_id, items=[item], request_key="fido"
        )

    monkeypatch.delenv("OPUSOF_FAULT_POINT")
    connection.close()
    payment_id = payment_id_for(consent_id, item["endToEndId"])
    assert PixPayment.objects.get(payment_id=payment_id).status == "RCVD"
    # The TPP's retry of the same request (the enrollment's token) resumes the payment the bank paid.
    response, body = v4.post_payments(consent_id, [item], token=v2.journey_token(enrollment_id), idempotency_key="fido")
    assert response.status_code == 201, body
    assert [(p["paymentId"], p["status"]) for p in body["data"]] == [(payment_id, "ACSC")]
    assert len(http_connectors.received("initiate")) == 1
    assert_bank_and_opusof_agree()


def test_cancellation_killed_after_the_bank_cancelled_is_applied_by_the_poll_for_its_requester(
    v4, http_connectors, recovery
):
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    assert response.status_code == 201 and body["data"][0]["status"] == "SCHD", body
    payment_id = body["data"][0]["paymentId"]

    job = {"service": "payment_cancel", "client": v4.tpp.client.pk, "payment_id": payment_id, "document": ANA_CPF}
    run_until_killed(http_connectors.base_url, job, point="after-bank-cancel")

    recorded = PixPayment.objects.get(payment_id=payment_id)
    assert recorded.status == "SCHD"
    assert recorded.cancel_request is not None and recorded.cancel_request["from"] == "INICIADORA"
    assert SandboxPayment.objects.get(payment_id=payment_id).status == "CANC"

    poll_like_the_beat()

    cancelled = v4.get_payment(payment_id)
    assert cancelled["status"] == "CANC"
    assert cancelled["cancellation"]["cancelledFrom"] == "INICIADORA"
    assert cancelled["cancellation"]["cancelledBy"]["document"]["identification"] == ANA_CPF
    assert_bank_and_opusof_agree()


def test_worker_killed_mid_batch_after_the_bank_scheduled_it(v4, http_connectors, recovery):
    start = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 3}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    items = [payment_item(data, day=start + dt.timedelta(days=n)) for n in range(3)]
    response, body = v4.post_payments(consent_id, items)
    assert response.status_code == 201 and {p["status"] for p in body["data"]} == {"RCVD"}, body
    batch_id = str(PixPayment.objects.get(payment_id=body["data"][0]["paymentId"]).batch_id)

    run_until_killed(http_connectors.base_url, {"service": "payment_batch_submit", "batch_id": batch_id})

    assert set(PixPayment.objects.values_list("status", flat=True)) == {"RCVD"}
    assert set(SandboxPayment.objects.values_list("status", flat=True)) == {"SCHD"}
    assert SandboxPayment.objects.count() == 3

    poll_like_the_beat()

    assert set(PixPayment.objects.values_list("status", flat=True)) == {"SCHD"}
    assert len(http_connectors.received("initiate")) == 3, "asked about, not initiated again"
    assert_bank_and_opusof_agree()
