"""The due sweep's batches, in process: a batch costs the same few queries whatever its size, and every payment it
changes is recorded as ``record_transition`` records a single change (status, statusUpdateDateTime, history row,
outbox event), with the bank's answers mapped as for one status read, through a connector that answers a batch at
once (the sandbox) or only one payment at a time (the Opus status route, as an HTTP bank)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors.interfaces import PaymentContext, PaymentStatusResult
from connectors.models import SandboxAccount, SandboxPayment
from connectors.sandbox import SandboxBank
from opusof.outbox.models import OutboxEvent
from opusof.timeutil import business_date
from payments.models import PaymentStatusChange, PixPayment
from payments.scheduling import DueSweep, payments_execute_due_batch, payments_run_due
from tests.support.due_payments_seed import seed_accounts, seed_due_payments

pytestmark = pytest.mark.django_db


class PerPaymentBank:
    """The sandbox bank behind the status route alone: one call per payment."""

    def get_payment_status(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        # the Opus status route names the payment's consent and logged user
        assert context is not None and context.data.consent is not None
        return SandboxBank().get_payment_status(payment_id=payment_id, end_to_end_id=end_to_end_id)


def test_a_batch_costs_the_same_few_queries_whatever_its_size(tpp):
    today = business_date()
    accounts = seed_accounts(10)
    queries = {}
    for size in (20, 300):
        seed_due_payments(client=tpp.client, accounts=accounts, count=size, day=today)
        with CaptureQueriesContext(connection) as captured:
            assert payments_execute_due_batch(day=today, sweep=DueSweep(), batch_size=size) == size
        queries[size] = len(captured)
    # Claim, load, bank (payments, accounts, ledger, balances, payments), ours (payments, history, client's
    # webhook URIs, outbox), and the savepoints around the two transactions.
    assert queries[20] == queries[300] <= 16, queries
    assert PaymentStatusChange.objects.filter(from_status="SCHD", to_status="ACSC").count() == 320
    assert OutboxEvent.objects.filter(from_status="SCHD", to_status="ACSC").count() == 320


@pytest.mark.parametrize("reader", ["connectors.sandbox.SandboxBank", f"{__name__}.PerPaymentBank"])
def test_each_change_in_a_batch_is_recorded_as_one_transition(tpp, settings, reader):
    settings.OPUSOF_CONNECTORS = {**settings.OPUSOF_CONNECTORS, "get_payment_status": reader}
    # Given due payments from funded accounts, four of 10.00 from an account holding 25.00, two from an account
    # whose bank is down, and one the bank does not know
    today = business_date()
    funded = seed_accounts(2)
    paid = seed_due_payments(client=tpp.client, accounts=funded, count=6, day=today)
    short = seed_due_payments(
        client=tpp.client, accounts=seed_accounts(1, balance=Decimal("25.00")), count=4, day=today
    )
    [offline] = seed_accounts(1, prefix="6")
    SandboxAccount.objects.filter(pk=offline.pk).update(behaviour=SandboxAccount.Behaviour.OFFLINE)
    down = seed_due_payments(client=tpp.client, accounts=[offline], count=2, day=today)
    unknown = seed_due_payments(client=tpp.client, accounts=funded, count=1, day=today)
    SandboxPayment.objects.filter(payment_id__in=unknown).delete()

    # When the sweep runs in batches of 5
    sweep = payments_run_due(day=today, batch_size=5)

    # Then funds were checked at settlement in order and mapped to the regulated reason
    assert (sweep.executed, sweep.unavailable, sweep.unknown) == (10, 2, 1)
    assert sweep.outcomes == {"ACSC": 8, "RJCT": 2}
    expected = {**dict.fromkeys(paid + short[:2], "ACSC"), **dict.fromkeys(short[2:], "RJCT")}
    payments = {p.payment_id: p for p in PixPayment.objects.filter(payment_id__in=expected)}
    assert {pid: p.status for pid, p in payments.items()} == expected
    for payment_id in short[2:]:
        assert payments[payment_id].rejection_reason == "SALDO_INSUFICIENTE"
    # and each change has its statusUpdateDateTime, the bank's reference, one history row and one outbox event
    for payment_id, payment in payments.items():
        [change] = PaymentStatusChange.objects.filter(payment=payment)
        assert (change.from_status, change.to_status, change.actor) == ("SCHD", payment.status, "system:scheduler")
        assert change.reason == ("SALDO_INSUFICIENTE" if payment.status == "RJCT" else "")
        assert change.created_at == payment.status_updated_at
        assert payment.bank_reference.startswith("sandbox-")
        [event] = OutboxEvent.objects.filter(resource_id=payment_id)
        assert (event.from_status, event.to_status, event.occurred_at) == ("SCHD", payment.status, change.created_at)
    # and what could not be executed was left as it was, unrecorded
    untouched = PixPayment.objects.filter(payment_id__in=down + unknown)
    assert set(untouched.values_list("status", flat=True)) == {"SCHD"}
    assert not PaymentStatusChange.objects.filter(payment__in=untouched).exists()
    assert not OutboxEvent.objects.filter(resource_id__in=down + unknown).exists()
