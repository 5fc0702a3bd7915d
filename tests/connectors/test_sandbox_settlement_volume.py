"""The sandbox bank's settlement run with more due payments than one PostgreSQL statement can carry.

A statement binds at most 65 535 parameters; settling writes 6 values per payment (its UPDATE) and 12 per payment
credited here (two ledger rows). 11 000 due payments put one statement for all of them past the limit on both
counts, which is what made the settlement task fail with ~20 000 payments due at once.
"""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from django.utils import timezone

from connectors.interfaces import BankPaymentStatus
from connectors.models import SandboxAccount, SandboxLedgerEntry, SandboxPayment
from connectors.tasks import sandbox_settle_due
from opusof.timeutil import business_date
from tests.factories.sandbox import SandboxAccountFactory

pytestmark = pytest.mark.django_db

DUE = 11_000
POSTGRES_MAX_PARAMETERS = 65_535


def _due_payments(debtor: SandboxAccount, creditor: SandboxAccount, count: int, *, scheduled: bool) -> None:
    today, past = business_date(), timezone.now() - dt.timedelta(minutes=1)
    SandboxPayment.objects.bulk_create(
        [
            SandboxPayment(
                payment_id=str(uuid.uuid4()),
                end_to_end_id=f"E{n:031d}",
                idempotency_key=str(uuid.uuid4()),
                amount=Decimal("1.00"),
                debtor_account=debtor,
                creditor_ispb=creditor.ispb,
                creditor_number=creditor.number,
                creditor_account_type=creditor.account_type,
                creditor_account=creditor,
                local_instrument="MANU",
                status=BankPaymentStatus.SCHD if scheduled else BankPaymentStatus.PDNG,
                scheduled_date=today if scheduled else None,
                settle_after=None if scheduled else past,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )


def test_more_due_payments_than_one_statement_can_bind_all_settle_once(local_creditor):
    assert DUE * 6 > POSTGRES_MAX_PARAMETERS  # the premise: one UPDATE for all of them would not bind
    rich = SandboxAccountFactory.create(balance=Decimal("100000.00"))
    poor = SandboxAccountFactory.create(balance=Decimal("500.00"))
    _due_payments(rich, local_creditor, DUE - 1000, scheduled=True)
    _due_payments(poor, local_creditor, 1000, scheduled=False)

    settled = sandbox_settle_due()

    assert settled == DUE
    by_status = dict(SandboxPayment.objects.values_list("status").annotate(Count("id")))
    assert by_status == {BankPaymentStatus.ACSC: DUE - 500, BankPaymentStatus.RJCT: 500}
    assert SandboxLedgerEntry.objects.count() == 2 * (DUE - 500)
    rich.refresh_from_db()
    poor.refresh_from_db()
    local_creditor.refresh_from_db()
    assert rich.balance == Decimal("100000.00") - (DUE - 1000)
    assert poor.balance == Decimal("0.00")
    assert local_creditor.balance == DUE - 500
    debits = SandboxLedgerEntry.objects.filter(direction="DEBIT").aggregate(total=Sum("amount"))["total"]
    assert debits == DUE - 500

    assert sandbox_settle_due() == 0  # settled once: nothing is due any more
    assert SandboxLedgerEntry.objects.count() == 2 * (DUE - 500)
