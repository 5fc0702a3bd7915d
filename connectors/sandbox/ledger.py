"""The sandbox bank's money: claiming a payment's key, settling payments (debits, credits, ledger rows) and moving
held payments on. Every write of a settlement goes to PostgreSQL as one statement (opusof.bulk.write_together)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from connectors.interfaces import BankPaymentStatus, PaymentInitiation
from connectors.models import SandboxAccount, SandboxLedgerEntry, SandboxPayment
from connectors.sandbox import scenarios
from connectors.sandbox.rules import INSUFFICIENT_FUNDS_DETAIL, Accounts, Behaviour, is_immediate, own_ispb
from opusof.bulk import Statement, insert_rows, insert_rows_sql, update_rows, update_rows_sql, write_together
from opusof.timeutil import business_date

Status = BankPaymentStatus
# What a settlement writes on each payment it moves.
PAYMENT_FIELDS = ["status", "settled_at", "rejection_code", "rejection_detail", "cancelled_at"]


def claim(initiation: PaymentInitiation, accounts: Accounts) -> tuple[SandboxPayment, bool]:
    """Inserts the payment row (True), or returns the row that already holds the key (False): a call that committed
    first, or a concurrent one whose commit the unique index made us wait for. A payment id already received with
    another key is None. In the caller's transaction; no savepoint (``ON CONFLICT DO NOTHING``)."""
    data = initiation.data
    debtor, creditor = accounts.debtor, accounts.creditor
    assert debtor is not None
    payment = SandboxPayment(
        payment_id=initiation.payment_id,
        end_to_end_id=initiation.end_to_end_id,
        idempotency_key=initiation.idempotency_key,
        amount=data.amount,
        debtor_account=debtor,
        creditor_ispb=data.creditor_account.ispb,
        creditor_issuer=data.creditor_account.issuer or "",
        creditor_number=data.creditor_account.number,
        creditor_account_type=str(data.creditor_account.account_type),
        creditor_account=creditor if creditor is not None and creditor.ispb == own_ispb() else None,
        local_instrument=data.local_instrument,
        proxy=data.proxy or "",
        status=Status.PDNG,  # placeholder, never committed: the bank's decision sets the real one
        scheduled_date=None if is_immediate(data) else data.payment_date,
    )
    if connection.vendor != "postgresql":
        return _claim_with_savepoint(payment)
    if insert_rows([payment], on_conflict_do_nothing=True):
        return payment, True
    existing = SandboxPayment.objects.filter(idempotency_key=initiation.idempotency_key).first()
    return (existing, False) if existing is not None else (payment, False)


@dataclass(frozen=True)
class Moves:
    """What a settlement writes besides the payments: ledger rows and the accounts whose balance changed."""

    entries: list[SandboxLedgerEntry] = field(default_factory=list)
    accounts: list[SandboxAccount] = field(default_factory=list)


def _claim_with_savepoint(payment: SandboxPayment) -> tuple[SandboxPayment, bool]:
    """``claim`` on the embedded SQLite (one writer at a time): the existing row, else an insert."""
    existing = SandboxPayment.objects.filter(idempotency_key=payment.idempotency_key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        payment.pk = None
        return payment, False
    return payment, True


def settle(payments: list[SandboxPayment]) -> Moves:
    """Settles each payment (ACSC: debits the debtor, credits an in-house creditor) or refuses it for want of funds
    at this moment (RJCT SALDO_INSUFICIENTE, payments v4 §5.1.6), in the order given. All their accounts are locked
    at once, in primary-key order so two crossing batches or transfers never deadlock. Returns the writes (the ledger
    rows, the new balances) for the caller to send with the payments' own (``write``)."""
    if not payments:
        return Moves()
    ids = {p.debtor_account_id for p in payments} | {p.creditor_account_id for p in payments} - {None}
    locked = (
        SandboxAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk").only("pk", "balance", "behaviour")
    )
    accounts = {account.pk: account for account in locked}
    moved: dict[int, SandboxAccount] = {}
    entries = []
    now = timezone.now()
    for payment in payments:
        debtor = accounts[payment.debtor_account_id]
        if debtor.behaviour == Behaviour.INSUFFICIENT_FUNDS or debtor.balance < payment.amount:
            payment.status = Status.RJCT
            payment.rejection_code = "SALDO_INSUFICIENTE"
            payment.rejection_detail = INSUFFICIENT_FUNDS_DETAIL
            continue
        movements = [(debtor, SandboxLedgerEntry.Direction.DEBIT, -payment.amount)]
        if payment.creditor_account_id is not None:
            movements.append(
                (accounts[payment.creditor_account_id], SandboxLedgerEntry.Direction.CREDIT, payment.amount)
            )
        for account, direction, delta in movements:
            account.balance += delta
            moved[account.pk] = account
            entries.append(
                SandboxLedgerEntry(
                    account=account,
                    payment=payment,
                    direction=direction,
                    amount=payment.amount,
                    balance_after=account.balance,
                )
            )
        payment.status = Status.ACSC
        payment.settled_at = now
    return Moves(entries, list(moved.values()))


def write(payments: list[SandboxPayment], fields: list[str], moves: Moves) -> None:
    """Saves ``fields`` of ``payments`` with the settlement's ``moves``, in one statement on PostgreSQL."""
    if connection.vendor != "postgresql":
        SandboxLedgerEntry.objects.bulk_create(moves.entries)
        update_rows(moves.accounts, ["balance"])
        update_rows(payments, fields)
        return
    statements: list[Statement] = []
    if moves.entries:
        statements += [insert_rows_sql(moves.entries), update_rows_sql(moves.accounts, ["balance"])]
    if payments:
        statements.append(update_rows_sql(payments, fields))
    if statements:
        write_together(statements)


def advance(payments: list[SandboxPayment], *, force: bool) -> None:
    """Moves held payments on when their time has come (or now, with ``force``); saves the ones that moved."""
    now = timezone.now()
    today = business_date()
    cancelled, due = [], []
    for payment in payments:
        if payment.status == Status.PDNG:
            if not force and payment.settle_after is not None and payment.settle_after > now:
                continue
        elif payment.status == Status.SCHD:
            if scenarios.scenarios_enabled() and payment.amount == scenarios.HOLDER_CANCELS_SCHEDULED:
                payment.status = Status.CANC
                payment.cancelled_at = now
                cancelled.append(payment)
                continue
            if not force and payment.scheduled_date is not None and payment.scheduled_date > today:
                continue
        else:
            continue
        due.append(payment)
    write(cancelled + due, PAYMENT_FIELDS, settle(due))


def hold(payment: SandboxPayment, seconds: float) -> None:
    """PDNG until ``seconds`` from now (pending-then-settle accounts and scenarios)."""
    payment.status = Status.PDNG
    payment.settle_after = timezone.now() + dt.timedelta(seconds=seconds)
