"""Bulk seeding of scheduled payments due on a day, on both sides: our SCHD PixPayment rows and the sandbox bank's
SCHD payments (as ``initiate_payment`` with a ``payment_date`` would have left them). Used by the background tests
and ``bench/scheduled_sweep.py``; never goes through the API (100 000 rows)."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from connectors.models import SandboxAccount, SandboxCustomer, SandboxLedgerEntry, SandboxPayment
from opusof.models import TppClient
from payments.models import PaymentStatus, PaymentStatusChange, PixPayment
from tests.factories.holder import CREDITOR, ScheduledConsentFactory, ScheduledPaymentFactory


def seed_accounts(count: int, *, balance: Decimal = Decimal("1000000.00"), prefix: str = "7") -> list[SandboxAccount]:
    """``count`` debtor accounts of one sandbox customer, each holding ``balance``."""
    tag = uuid.uuid4().int % 10**9
    owner = SandboxCustomer.objects.create(
        document=f"{tag:011d}", kind=SandboxCustomer.Kind.INDIVIDUAL, name=f"Seed {tag}"
    )
    accounts = [
        SandboxAccount(
            ispb=settings.OPUSOF_ISPB,
            issuer="0001",
            number=f"{prefix}{tag % 10**6:06d}{i:06d}",
            account_type="CACC",
            owner=owner,
            balance=balance,
        )
        for i in range(count)
    ]
    return SandboxAccount.objects.bulk_create(accounts)


def seed_due_payments(
    *,
    client: TppClient,
    accounts: list[SandboxAccount],
    count: int,
    day: dt.date,
    amount: Decimal = Decimal("10.00"),
    chunk: int = 5000,
) -> list[str]:
    """``count`` SCHD payments dated ``day``, spread round-robin over ``accounts``; returns their payment ids."""
    consent = ScheduledConsentFactory(client=client, day=day, amount=amount)
    batch_id = uuid.uuid4()
    run = uuid.uuid4().int % 10**5
    ids: list[str] = []
    for start in range(0, count, chunk):
        ours, bank = [], []
        for i in range(start, min(count, start + chunk)):
            account = accounts[i % len(accounts)]
            payment_id = str(uuid.uuid4())
            e2e = f"E{settings.OPUSOF_ISPB}{day:%Y%m%d}15{run:05d}{i:06d}"[:32]
            ids.append(payment_id)
            ours.append(
                ScheduledPaymentFactory.build(
                    payment_id=payment_id,
                    consent=consent,
                    batch_id=batch_id,
                    end_to_end_id=e2e,
                    debtor_ispb=account.ispb,
                    debtor_issuer=account.issuer,
                    debtor_number=account.number,
                    debtor_account_type=account.account_type,
                )
            )
            bank.append(
                SandboxPayment(
                    payment_id=payment_id,
                    end_to_end_id=e2e,
                    idempotency_key=payment_id,
                    amount=amount,
                    debtor_account=account,
                    creditor_ispb=CREDITOR["ispb"],
                    creditor_issuer=CREDITOR["issuer"],
                    creditor_number=CREDITOR["number"],
                    creditor_account_type=CREDITOR["accountType"],
                    local_instrument="MANU",
                    status="SCHD",
                    scheduled_date=day,
                )
            )
        with transaction.atomic():
            PixPayment.objects.bulk_create(ours)
            SandboxPayment.objects.bulk_create(bank)
    return ids


def assert_executed_once(payment_ids: list[str]) -> dict[str, int]:
    """Every payment left SCHD exactly once (one history row from SCHD), and the bank debited each settled one
    exactly once. Returns the final status counts."""
    moves = dict(
        PaymentStatusChange.objects.filter(payment__payment_id__in=payment_ids, from_status=PaymentStatus.SCHD)
        .values_list("payment__payment_id")
        .annotate(n=Count("id"))
        .values_list("payment__payment_id", "n")
    )
    assert set(moves) == set(payment_ids), "every payment executed"
    assert set(moves.values()) == {1}, "no payment executed twice"
    settled = PixPayment.objects.filter(payment_id__in=payment_ids, status=PaymentStatus.ACSC).count()
    debits = SandboxLedgerEntry.objects.filter(
        payment__payment_id__in=payment_ids, direction=SandboxLedgerEntry.Direction.DEBIT
    )
    assert debits.count() == settled
    assert set(debits.values("payment").annotate(n=Count("id")).values_list("n", flat=True)) <= {1}
    return dict(
        PixPayment.objects.filter(payment_id__in=payment_ids)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
