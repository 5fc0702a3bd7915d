"""The sandbox bank as the receiving merchant's bank: Pix devoluções (connectors.refunds.SendPixRefund)."""

from decimal import Decimal

import pytest

from connectors.interfaces import ConnectorUnavailable
from connectors.models import SandboxAccount, SandboxPixRefund
from connectors.refunds import PixRefundStatus, SendPixRefund
from connectors.sandbox.refunds import EXCEEDED, NO_FUNDS, NOT_FOUND, SandboxRefunds
from tests.factories.sandbox import initiation, payment_data

pytestmark = pytest.mark.django_db


def balance(account: SandboxAccount) -> Decimal:
    account.refresh_from_db()
    return account.balance


@pytest.fixture
def refunds() -> SandboxRefunds:
    return SandboxRefunds()


@pytest.fixture
def paid(bank, debtor, creditor) -> str:
    """R$ 100.00 paid from ``debtor`` to the merchant at another ISPB, whose account has a R$ 500.00 float."""
    SandboxAccount.objects.filter(pk=creditor.pk).update(balance=Decimal("500.00"))
    request = initiation(payment_data(debtor, creditor, "100.00"))
    bank.initiate_payment(request)
    return request.end_to_end_id


def test_a_devolucao_moves_money_once_per_id(refunds, paid, debtor, creditor):
    assert isinstance(refunds, SendPixRefund)
    first = refunds.send_pix_refund(refund_id="D1", end_to_end_id=paid, amount=Decimal("30.00"))
    again = refunds.send_pix_refund(refund_id="D1", end_to_end_id=paid, amount=Decimal("30.00"))
    assert first == again and first.status == PixRefundStatus.DEVOLVIDO and first.return_id.startswith("D12345678")
    assert (balance(creditor), balance(debtor)) == (Decimal("470.00"), Decimal("930.00"))
    assert refunds.get_pix_refund(refund_id="D1", end_to_end_id=paid) == first
    assert refunds.get_pix_refund(refund_id="D2", end_to_end_id=paid) is None


def test_refusals_are_kept_answers(refunds, paid, creditor):
    refunds.send_pix_refund(refund_id="D1", end_to_end_id=paid, amount=Decimal("80.00"))
    over = refunds.send_pix_refund(refund_id="D2", end_to_end_id=paid, amount=Decimal("20.01"))
    assert (over.status, over.reason) == (PixRefundStatus.NAO_REALIZADO, EXCEEDED)
    unknown = refunds.send_pix_refund(refund_id="D3", end_to_end_id=f"{paid[:-1]}x", amount=Decimal("1.00"))
    assert (unknown.status, unknown.reason) == (PixRefundStatus.NAO_REALIZADO, NOT_FOUND)
    SandboxAccount.objects.filter(pk=creditor.pk).update(balance=Decimal("5.00"))
    poor = refunds.send_pix_refund(refund_id="D4", end_to_end_id=paid, amount=Decimal("10.00"))
    assert (poor.status, poor.reason) == (PixRefundStatus.NAO_REALIZADO, NO_FUNDS)
    assert refunds.get_pix_refund(refund_id="D2", end_to_end_id=paid) == over
    assert balance(creditor) == Decimal("5.00")
    # The refused ones do not count: the rest of the original can still be returned.
    SandboxAccount.objects.filter(pk=creditor.pk).update(balance=Decimal("500.00"))
    rest = refunds.send_pix_refund(refund_id="D5", end_to_end_id=paid, amount=Decimal("20.00"))
    assert rest.status == PixRefundStatus.DEVOLVIDO


def test_an_offline_merchant_bank_answers_nothing_and_records_nothing(refunds, paid, creditor):
    SandboxAccount.objects.filter(pk=creditor.pk).update(behaviour=SandboxAccount.Behaviour.OFFLINE)
    with pytest.raises(ConnectorUnavailable):
        refunds.send_pix_refund(refund_id="D1", end_to_end_id=paid, amount=Decimal("1.00"))
    assert not SandboxPixRefund.objects.exists() and balance(creditor) == Decimal("500.00")
