"""The sandbox bank as the receiving merchant's bank: it executes Pix devoluções (connectors.refunds.SendPixRefund)
of Pix it settled to an account it keeps, debiting that account and crediting the original payer's. The demo
merchant's 12345678 90000001 is such an account: Pix paid to it leave this bank's books (another ISPB, so its
balance is not credited by them), and its balance is the float devoluções are paid from. Behaviours of the
merchant's account apply: OFFLINE answers nothing (ConnectorUnavailable), SLOW waits, INSUFFICIENT_FUNDS refuses.
"""

import datetime as dt
import secrets
import string
import time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from connectors.interfaces import BankPaymentStatus, ConnectorUnavailable
from connectors.models import SandboxAccount, SandboxPayment, SandboxPixRefund
from connectors.refunds import PixRefundResult, PixRefundStatus

Behaviour = SandboxAccount.Behaviour
Status = SandboxPixRefund.Status
NOT_FOUND = "Pix original não encontrado ou não liquidado neste banco."
NOT_HERE = "A conta que recebeu o Pix original não é deste banco."
EXCEEDED = "Valor acima do que resta devolver do Pix original."
NO_FUNDS = "Saldo insuficiente na conta do recebedor para a devolução."
# Devoluções that count against the original's amount: the ones done and the ones under way.
_COUNTED = [Status.DEVOLVIDO, Status.EM_PROCESSAMENTO]


def _return_id(ispb: str, now: dt.datetime) -> str:
    """The SPI's identifier of a devolução: D + the sending ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics."""
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return f"D{ispb}{now.astimezone(dt.UTC):%Y%m%d%H%M}{suffix}"


def _result(row: SandboxPixRefund) -> PixRefundResult:
    return PixRefundResult(
        refund_id=row.refund_id,
        end_to_end_id=row.end_to_end_id,
        amount=row.amount,
        status=PixRefundStatus(row.status),
        reason=row.reason,
        return_id=row.return_id,
        settled_at=row.settled_at,
    )


def _behave(account: SandboxAccount | None) -> None:
    if account is None:
        return
    if account.behaviour == Behaviour.OFFLINE:
        raise ConnectorUnavailable(f"Sandbox: conta {account} configurada como fora do ar.")
    if account.behaviour == Behaviour.SLOW:
        time.sleep(account.slow_seconds)


class SandboxRefunds:
    """Implements connectors.refunds.SendPixRefund against the sandbox bank's accounts."""

    def send_pix_refund(
        self, *, refund_id: str, end_to_end_id: str, amount: Decimal, description: str = ""
    ) -> PixRefundResult:
        original = SandboxPayment.objects.filter(end_to_end_id=end_to_end_id, status=BankPaymentStatus.ACSC).first()
        _behave(_receiver(original) if original is not None else None)
        try:
            with transaction.atomic():
                return _result(self._execute(refund_id, end_to_end_id, amount, description))
        except IntegrityError:
            # A concurrent call with the same id recorded it first: its answer is ours.
            return _result(SandboxPixRefund.objects.get(refund_id=refund_id))

    def get_pix_refund(self, *, refund_id: str, end_to_end_id: str) -> PixRefundResult | None:
        row = SandboxPixRefund.objects.filter(refund_id=refund_id, end_to_end_id=end_to_end_id).first()
        return _result(row) if row is not None else None

    @staticmethod
    def _execute(refund_id: str, end_to_end_id: str, amount: Decimal, description: str) -> SandboxPixRefund:
        # The original is locked first, so two devoluções of one Pix are checked against its remainder in turn.
        original = (
            SandboxPayment.objects.select_for_update()
            .filter(end_to_end_id=end_to_end_id, status=BankPaymentStatus.ACSC)
            .first()
        )
        existing = SandboxPixRefund.objects.filter(refund_id=refund_id).first()
        if existing is not None:
            return existing
        row = SandboxPixRefund(
            refund_id=refund_id,
            end_to_end_id=end_to_end_id,
            original=original,
            amount=amount,
            description=description[:140],
        )
        if original is None:
            return _refused(row, NOT_FOUND)
        receiver = _receiver(original)
        if receiver is None:
            return _refused(row, NOT_HERE)
        done = original.refunds.filter(status__in=_COUNTED).aggregate(total=Sum("amount"))["total"] or Decimal(0)
        if amount <= 0 or done + amount > original.amount:
            return _refused(row, EXCEEDED)
        ids = sorted({receiver.pk, original.debtor_account_id})
        accounts = {a.pk: a for a in SandboxAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        merchant, payer = accounts[receiver.pk], accounts[original.debtor_account_id]
        row.debtor_account, row.creditor_account = merchant, payer
        if merchant.behaviour == Behaviour.INSUFFICIENT_FUNDS or merchant.balance < amount:
            return _refused(row, NO_FUNDS)
        merchant.balance -= amount
        payer.balance += amount
        merchant.save(update_fields=["balance"])
        payer.save(update_fields=["balance"])
        now = timezone.now()
        row.status, row.settled_at, row.return_id = Status.DEVOLVIDO, now, _return_id(merchant.ispb, now)
        row.save()
        return row


def _receiver(original: SandboxPayment) -> SandboxAccount | None:
    """The account the original Pix was paid to, when this bank keeps it (in-house, or at another ISPB)."""
    if original.creditor_account_id is not None:
        return SandboxAccount.objects.get(pk=original.creditor_account_id)
    return SandboxAccount.objects.filter(
        ispb=original.creditor_ispb,
        issuer=original.creditor_issuer,
        number=original.creditor_number,
        account_type=original.creditor_account_type,
    ).first()


def _refused(row: SandboxPixRefund, reason: str) -> SandboxPixRefund:
    row.status, row.reason = Status.NAO_REALIZADO, reason
    row.save()
    return row
