"""Concurrent initiations with one idempotency key: real threads, real PostgreSQL transactions."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from connectors.interfaces import BankPaymentStatus, PaymentStatusResult
from connectors.models import SandboxLedgerEntry, SandboxPayment
from connectors.sandbox import SandboxBank
from tests.factories.sandbox import initiation, payment_data


@pytest.mark.django_db(transaction=True)
def test_ten_threads_one_key_one_debit(debtor, local_creditor):
    # The whole balance: a twin that checked the balance after the first debit would wrongly see no money.
    request = initiation(payment_data(debtor, local_creditor, "1000.00"))
    bank = SandboxBank()
    barrier = threading.Barrier(10)
    results: list[PaymentStatusResult] = []
    errors: list[BaseException] = []

    def pay() -> None:
        try:
            barrier.wait()
            results.append(bank.initiate_payment(request))
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 10
    assert {result.status for result in results} == {BankPaymentStatus.ACSC}
    assert len({result.bank_reference for result in results}) == 1
    assert SandboxPayment.objects.count() == 1
    assert SandboxLedgerEntry.objects.filter(direction="DEBIT").count() == 1
    debtor.refresh_from_db()
    local_creditor.refresh_from_db()
    assert (debtor.balance, local_creditor.balance) == (Decimal("0.00"), Decimal("1000.00"))


@pytest.mark.django_db(transaction=True)
def test_ten_threads_ten_keys_never_overdraw(debtor, local_creditor):
    bank = SandboxBank()
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def pay() -> None:
        try:
            barrier.wait()
            outcomes.append(bank.initiate_payment(initiation(payment_data(debtor, local_creditor, "300.00"))).status)
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ACSC"] * 3 + ["SALDO_INSUFICIENTE"] * 7
    debtor.refresh_from_db()
    assert debtor.balance == Decimal("100.00")
    assert SandboxLedgerEntry.objects.filter(direction="DEBIT").count() == 3
