import datetime as dt
import time
from decimal import Decimal

import pytest

from connectors.interfaces import BankPaymentStatus, ConnectorError, ConnectorRejected, ConnectorUnavailable
from connectors.models import SandboxAccount, SandboxLedgerEntry, SandboxPayment, SandboxQrCode
from connectors.tasks import sandbox_settle_due
from opusof.timeutil import business_date
from tests.factories.sandbox import SandboxAccountFactory, SandboxPaymentFactory, initiation, payment_data

pytestmark = pytest.mark.django_db
Behaviour = SandboxAccount.Behaviour


def balance(account: SandboxAccount) -> Decimal:
    account.refresh_from_db()
    return account.balance


def set_behaviour(account: SandboxAccount, behaviour: str) -> None:
    SandboxAccount.objects.filter(pk=account.pk).update(behaviour=behaviour)
    account.refresh_from_db()


def tomorrow() -> dt.date:
    return business_date() + dt.timedelta(days=1)


# --- immediate payments -------------------------------------------------------------------------------------------


def test_immediate_payment_settles_and_debits(bank, debtor, creditor):
    result = bank.initiate_payment(initiation(payment_data(debtor, creditor, "250.50")))
    assert result.status == BankPaymentStatus.ACSC
    assert result.settled_at is not None
    assert result.rejection_code is None
    assert balance(debtor) == Decimal("749.50")
    # The creditor banks elsewhere: the money leaves through the SPI, nothing is credited here.
    assert balance(creditor) == Decimal("0.00")
    entries = list(SandboxLedgerEntry.objects.values_list("account_id", "direction", "amount", "balance_after"))
    assert entries == [(debtor.pk, "DEBIT", Decimal("250.50"), Decimal("749.50"))]


def test_payment_to_an_account_here_is_credited(bank, debtor, local_creditor):
    bank.initiate_payment(initiation(payment_data(debtor, local_creditor, "100.00")))
    assert (balance(debtor), balance(local_creditor)) == (Decimal("900.00"), Decimal("100.00"))
    credit = SandboxLedgerEntry.objects.get(direction="CREDIT")
    assert (credit.account_id, credit.amount, credit.balance_after) == (local_creditor.pk, Decimal("100.00"), 100)


def test_insufficient_funds_is_rejected_without_a_trace(bank, debtor, creditor):
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(payment_data(debtor, creditor, "1000.01")))
    assert raised.value.code == "SALDO_INSUFICIENTE"
    assert balance(debtor) == Decimal("1000.00")
    assert SandboxPayment.objects.count() == 0


def test_insufficient_funds_behaviour_is_rejected(bank, debtor, creditor):
    set_behaviour(debtor, Behaviour.INSUFFICIENT_FUNDS)
    with pytest.raises(ConnectorRejected, match="SALDO_INSUFICIENTE"):
        bank.initiate_payment(initiation(payment_data(debtor, creditor, "1.00")))
    assert balance(debtor) == Decimal("1000.00")


def test_over_the_limit_is_rejected(bank, debtor, creditor):
    set_behaviour(debtor, Behaviour.LIMIT_EXCEEDED)
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(payment_data(debtor, creditor, "1.00")))
    assert raised.value.code == "VALOR_ACIMA_LIMITE"
    assert balance(debtor) == Decimal("1000.00")


def test_dict_problem_is_rejected(bank, debtor, creditor):
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(payment_data(debtor, creditor, proxy="nobody@example.com")))
    assert raised.value.code == "DETALHE_PAGAMENTO_INVALIDO"
    assert "proxy" in raised.value.detail


def test_account_that_may_not_pay_is_refused_by_the_holder(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(may_pay=False)
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(payment_data(debtor, creditor)))
    assert raised.value.code == "PAGAMENTO_RECUSADO_DETENTORA"


def test_same_key_is_paid_once(bank, debtor, creditor):
    request = initiation(payment_data(debtor, creditor, "100.00"))
    first = bank.initiate_payment(request)
    second = bank.initiate_payment(request)
    assert first == second
    assert balance(debtor) == Decimal("900.00")
    assert SandboxLedgerEntry.objects.filter(direction="DEBIT").count() == 1


def test_dynamic_qr_is_used_once(bank, debtor, creditor):
    qr = bank.issue_dynamic_qr(key="shop@example.com", amount=Decimal("40.00"))
    data = payment_data(debtor, creditor, "40.00", local_instrument="QRDN", qr_code=qr.payload)
    assert bank.initiate_payment(initiation(data)).status == BankPaymentStatus.ACSC
    qr.refresh_from_db()
    assert qr.status == SandboxQrCode.Status.USED
    assert SandboxPayment.objects.get().qr_code == qr
    assert bank.dynamic_qr_payload(f"https://{qr.location}")["status"] == "CONCLUIDA"
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(data))
    assert raised.value.code == "COBRANCA_INVALIDA"
    assert balance(debtor) == Decimal("960.00")


# --- behaviours ----------------------------------------------------------------------------------------------------


def test_offline_account_makes_every_call_unavailable(bank, debtor, creditor):
    paid = bank.initiate_payment(initiation(data := payment_data(debtor, creditor, "1.00"), key="paid0000001"))
    set_behaviour(debtor, Behaviour.OFFLINE)
    calls = [
        lambda: bank.validate_payment_data(data),
        lambda: bank.initiate_payment(initiation(data)),
        lambda: bank.get_payment_status(payment_id="paid0000001", end_to_end_id=_e2e("paid0000001")),
        lambda: bank.cancel_payment(payment_id="paid0000001", end_to_end_id=_e2e("paid0000001")),
    ]
    for call in calls:
        with pytest.raises(ConnectorUnavailable) as raised:
            call()
        assert isinstance(raised.value, ConnectorError)
        assert not isinstance(raised.value, ConnectorRejected)  # retryable, not a refusal
    assert paid.status == BankPaymentStatus.ACSC
    assert balance(debtor) == Decimal("999.00")


def _e2e(payment_id: str) -> str:
    return SandboxPayment.objects.get(payment_id=payment_id).end_to_end_id


def test_slow_account_answers_after_its_delay(bank, debtor, creditor):
    set_behaviour(debtor, Behaviour.SLOW)
    started = time.monotonic()
    result = bank.initiate_payment(initiation(payment_data(debtor, creditor, "1.00")))
    assert debtor.slow_seconds == 0.2
    assert time.monotonic() - started >= 0.2
    assert result.status == BankPaymentStatus.ACSC


def test_pending_then_settle_settles_on_a_later_read(bank, debtor, creditor):
    set_behaviour(debtor, Behaviour.PENDING_THEN_SETTLE)
    request = initiation(payment_data(debtor, creditor, "300.00"))
    assert bank.initiate_payment(request).status == BankPaymentStatus.PDNG
    assert balance(debtor) == Decimal("1000.00")
    statuses = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = bank.get_payment_status(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id).status
        statuses.append(status)
        if status == BankPaymentStatus.ACSC:
            break
        time.sleep(0.05)
    assert statuses[0] == BankPaymentStatus.PDNG
    assert statuses[-1] == BankPaymentStatus.ACSC
    assert balance(debtor) == Decimal("700.00")


def test_force_settle_skips_the_delay(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(
        behaviour=Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=3600
    )
    debtor.refresh_from_db()
    request = initiation(payment_data(debtor, creditor, "300.00"))
    bank.initiate_payment(request)
    assert bank.get_payment_status(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id).status == "PDNG"
    assert bank.force_settle(request.payment_id).status == BankPaymentStatus.ACSC
    assert balance(debtor) == Decimal("700.00")


def test_pending_payment_without_money_at_settlement_is_rejected(bank, debtor, creditor):
    set_behaviour(debtor, Behaviour.PENDING_THEN_SETTLE)
    request = initiation(payment_data(debtor, creditor, "800.00"))
    bank.initiate_payment(request)
    SandboxAccount.objects.filter(pk=debtor.pk).update(balance=Decimal("10.00"))
    result = bank.force_settle(request.payment_id)
    assert (result.status, result.rejection_code) == (BankPaymentStatus.RJCT, "SALDO_INSUFICIENTE")
    assert balance(debtor) == Decimal("10.00")


# --- scheduled payments --------------------------------------------------------------------------------------------


def test_scheduled_payment_waits_for_its_day(bank, debtor, creditor):
    request = initiation(payment_data(debtor, creditor, "200.00", payment_date=tomorrow()))
    assert bank.initiate_payment(request).status == BankPaymentStatus.SCHD
    assert bank.get_payment_status(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id).status == "SCHD"
    assert bank.settle_due(business_date()) == {}
    assert balance(debtor) == Decimal("1000.00")

    moved = bank.settle_due(tomorrow())
    assert moved[request.payment_id].status == BankPaymentStatus.ACSC
    assert balance(debtor) == Decimal("800.00")
    assert bank.settle_due(tomorrow()) == {}  # settled once
    assert SandboxLedgerEntry.objects.count() == 1


def test_scheduled_payment_is_accepted_beyond_the_balance_and_rejected_at_settlement(bank, debtor, creditor):
    request = initiation(payment_data(debtor, creditor, "5000.00", payment_date=tomorrow()))
    assert bank.initiate_payment(request).status == BankPaymentStatus.SCHD
    result = bank.settle_due(tomorrow())[request.payment_id]
    assert (result.status, result.rejection_code) == (BankPaymentStatus.RJCT, "SALDO_INSUFICIENTE")
    assert balance(debtor) == Decimal("1000.00")


def test_status_read_settles_a_scheduled_payment_whose_day_has_come(bank, debtor):
    payment = SandboxPaymentFactory.create(
        debtor_account=debtor, amount=Decimal("10.00"), scheduled_date=business_date()
    )
    result = bank.get_payment_status(payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id)
    assert result.status == BankPaymentStatus.ACSC
    assert balance(debtor) == Decimal("990.00")


def test_a_batch_of_status_reads_settles_in_order_and_answers_each_payment(bank, debtor, local_creditor):
    # Given, in one batch: two payments due today from an account holding 1,000.00 (600.00 to an account here,
    # then 600.00 more), one due tomorrow, one from an offline account, one with a wrong end-to-end id, one unknown
    today = business_date()
    first, second = (
        SandboxPaymentFactory.create(
            debtor_account=debtor, creditor_account=local_creditor, amount=Decimal("600.00"), scheduled_date=today
        )
        for _ in range(2)
    )
    later = SandboxPaymentFactory.create(debtor_account=debtor, amount=Decimal("1.00"))
    offline = SandboxPaymentFactory.create(
        debtor_account=SandboxAccountFactory.create(behaviour=Behaviour.OFFLINE), scheduled_date=today
    )
    wrong_e2e = SandboxPaymentFactory.create(debtor_account=debtor, scheduled_date=today)

    answers = bank.get_payment_statuses(
        [(p.payment_id, p.end_to_end_id) for p in (first, second, later, offline)]
        + [(wrong_e2e.payment_id, "E99999004202501011200xxxxxxxxxxx"), ("nope", "E99999004202501011200yyyyyyyyyyy")]
    )

    # Then funds were checked at settlement, in order: the first settled, the second found the money gone
    assert answers[first.payment_id].status == BankPaymentStatus.ACSC
    assert (answers[second.payment_id].status, answers[second.payment_id].rejection_code) == (
        "RJCT",
        "SALDO_INSUFICIENTE",
    )
    assert answers[later.payment_id].status == BankPaymentStatus.SCHD
    assert isinstance(answers[offline.payment_id], ConnectorUnavailable)
    assert isinstance(answers[wrong_e2e.payment_id], ConnectorRejected)
    assert isinstance(answers["nope"], ConnectorRejected)
    assert (balance(debtor), balance(local_creditor)) == (Decimal("400.00"), Decimal("600.00"))
    ledger = SandboxLedgerEntry.objects.filter(payment=first).order_by("direction")
    assert [(e.direction, e.amount, e.balance_after) for e in ledger] == [
        ("CREDIT", Decimal("600.00"), Decimal("600.00")),
        ("DEBIT", Decimal("600.00"), Decimal("400.00")),
    ]
    stored = {p.payment_id: p.status for p in SandboxPayment.objects.all()}
    assert stored == {
        first.payment_id: "ACSC",
        second.payment_id: "RJCT",
        later.payment_id: "SCHD",
        offline.payment_id: "SCHD",
        wrong_e2e.payment_id: "SCHD",
    }
    # And a second read changes nothing
    again = bank.get_payment_statuses([(first.payment_id, first.end_to_end_id)])
    assert again[first.payment_id].status == BankPaymentStatus.ACSC
    assert SandboxLedgerEntry.objects.count() == 2


def test_unknown_payment_is_refused(bank, db):
    with pytest.raises(ConnectorRejected):
        bank.get_payment_status(payment_id="nope", end_to_end_id="E00000000202501011200abcdefghijk")


# --- cancellation ----------------------------------------------------------------------------------------------------


def test_cancel_scheduled_payment(bank, debtor, creditor):
    request = initiation(payment_data(debtor, creditor, "200.00", payment_date=tomorrow()))
    bank.initiate_payment(request)
    result = bank.cancel_payment(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id)
    assert result.status == BankPaymentStatus.CANC
    assert SandboxPayment.objects.get().cancelled_at is not None
    assert bank.settle_due(tomorrow()) == {}
    assert balance(debtor) == Decimal("1000.00")


def test_cancel_pending_payment(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(behaviour=Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=60)
    request = initiation(payment_data(debtor, creditor, "200.00"))
    bank.initiate_payment(request)
    result = bank.cancel_payment(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id)
    assert result.status == BankPaymentStatus.CANC
    assert bank.force_settle(request.payment_id).status == BankPaymentStatus.CANC
    assert balance(debtor) == Decimal("1000.00")


def test_settled_payment_cannot_be_cancelled(bank, debtor, creditor):
    request = initiation(payment_data(debtor, creditor, "200.00"))
    bank.initiate_payment(request)
    with pytest.raises(ConnectorRejected) as raised:
        bank.cancel_payment(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id)
    assert raised.value.code == "PAGAMENTO_NAO_PERMITE_CANCELAMENTO"
    assert SandboxPayment.objects.get().status == "ACSC"


def test_beat_task_runs_the_settlement(debtor):
    due = SandboxPaymentFactory.create(debtor_account=debtor, amount=Decimal("25.00"), scheduled_date=business_date())
    SandboxPaymentFactory.create(debtor_account=debtor, amount=Decimal("25.00"))  # tomorrow: not yet
    assert sandbox_settle_due() == 1
    due.refresh_from_db()
    assert due.status == "ACSC"
    assert balance(debtor) == Decimal("975.00")
