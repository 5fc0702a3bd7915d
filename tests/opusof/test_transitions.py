"""record_transition inside transitions_in_bulk: the same rows as one change at a time, written on leaving the
block; nothing written when the block raises; records the block does not track are written at once."""

import pytest
from django.utils import timezone

from opusof.outbox.models import EventKind, OutboxEvent
from opusof.timeutil import business_date
from opusof.transitions import record_transition, transitions_in_bulk
from payments.models import PaymentStatusChange, PixPayment
from tests.support.due_payments_seed import seed_accounts, seed_due_payments

pytestmark = pytest.mark.django_db


def _reject(payment: PixPayment) -> None:
    record_transition(
        payment,
        lambda: payment.reject(reason="SALDO_INSUFICIENTE", detail="sem saldo"),
        history=PaymentStatusChange,
        kind=EventKind.PIX_PAYMENT,
        resource_id=payment.payment_id,
        actor="test",
        reason="SALDO_INSUFICIENTE",
        now=timezone.now(),
    )


@pytest.fixture
def payments(tpp) -> list[PixPayment]:
    ids = seed_due_payments(client=tpp.client, accounts=seed_accounts(1), count=3, day=business_date())
    return list(PixPayment.objects.filter(payment_id__in=ids).order_by("pk"))


def test_changes_are_written_when_the_block_ends(payments):
    tracked, untracked = payments[:2], payments[2]
    with transitions_in_bulk(tracked):
        for payment in payments:
            _reject(payment)
        # The untracked record was written at once; the tracked ones wait for the end of the block.
        assert PaymentStatusChange.objects.filter(payment=untracked).count() == 1
        assert not PaymentStatusChange.objects.filter(payment__in=tracked).exists()
        assert set(PixPayment.objects.filter(pk__in=[p.pk for p in tracked]).values_list("status", flat=True)) == {
            "SCHD"
        }
    for payment in payments:
        stored = PixPayment.objects.get(pk=payment.pk)
        assert (stored.status, stored.rejection_reason, stored.rejection_detail) == (
            "RJCT",
            "SALDO_INSUFICIENTE",
            "sem saldo",
        )
        assert stored.status_updated_at == payment.status_updated_at
        [change] = PaymentStatusChange.objects.filter(payment=payment)
        assert (change.from_status, change.to_status, change.reason) == ("SCHD", "RJCT", "SALDO_INSUFICIENTE")
        assert OutboxEvent.objects.filter(resource_id=payment.payment_id, to_status="RJCT").count() == 1


def test_nothing_is_written_when_the_block_raises(payments):
    with pytest.raises(RuntimeError), transitions_in_bulk(payments):
        for payment in payments:
            _reject(payment)
        raise RuntimeError("batch failed")
    assert set(PixPayment.objects.values_list("status", flat=True)) == {"SCHD"}
    assert not PaymentStatusChange.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_transition_writes_the_changed_columns_including_those_set_before_it(payments):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from opusof.transitions import transition

    payment = PixPayment.objects.get(pk=payments[0].pk)
    payment.bank_reference = "BANK-1"  # set by the caller before the transition, as apply_bank_status does
    with CaptureQueriesContext(connection) as queries:
        transition(payment, lambda: payment.reject(reason="SALDO_INSUFICIENTE", detail="sem saldo"), actor="test")

    # One statement: the UPDATE, the history row and the outbox events as data-modifying CTEs (opusof.bulk).
    [statement] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH")]
    update = statement.split("INSERT INTO")[0]
    assert update.startswith("WITH w0 AS (UPDATE")
    assert '"bank_reference"' in update and '"rejection_reason"' in update and '"status"' in update
    assert '"creditor_number"' not in update, "only what changed is written"
    stored = PixPayment.objects.get(pk=payment.pk)
    assert (stored.status, stored.bank_reference, stored.rejection_detail) == ("RJCT", "BANK-1", "sem saldo")


def test_a_value_put_back_after_a_save_is_still_written(payments):
    from opusof.transitions import transition

    payment = PixPayment.objects.get(pk=payments[0].pk)
    payment.bank_reference = "FIRST"
    payment.save()
    payment.bank_reference = ""  # back to what was read, but no longer what the row holds
    transition(payment, lambda: payment.reject(reason="SALDO_INSUFICIENTE", detail="sem saldo"), actor="test")

    assert PixPayment.objects.get(pk=payment.pk).bank_reference == ""
