"""The conformance-suite scenario amounts (connectors.sandbox.scenarios), on and off."""

import datetime as dt
from decimal import Decimal

import pytest

from connectors.interfaces import BankPaymentStatus, ConnectorRejected
from connectors.models import SandboxAccount, SandboxPayment
from connectors.sandbox import is_consent_rejection_scenario, is_payment_rejection_scenario
from opusof.timeutil import business_date
from tests.factories.sandbox import initiation, payment_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich(debtor: SandboxAccount) -> SandboxAccount:
    SandboxAccount.objects.filter(pk=debtor.pk).update(balance=Decimal("100000.00"), settle_delay_seconds=0)
    debtor.refresh_from_db()
    return debtor


@pytest.fixture
def scenarios_on(settings):
    settings.OPUSOF_SANDBOX_SCENARIOS = True


@pytest.fixture
def scenarios_off(settings):
    settings.OPUSOF_SANDBOX_SCENARIOS = False


def balance(account: SandboxAccount) -> Decimal:
    account.refresh_from_db()
    return account.balance


def status_of(bank, request) -> BankPaymentStatus:
    return bank.get_payment_status(payment_id=request.payment_id, end_to_end_id=request.end_to_end_id).status


@pytest.mark.usefixtures("scenarios_on")
@pytest.mark.parametrize("amount", ["12345.00", "12345.67"])
def test_pending_then_settles(bank, rich, creditor, amount):
    SandboxAccount.objects.filter(pk=rich.pk).update(settle_delay_seconds=3600)
    request = initiation(payment_data(rich, creditor, amount))
    assert bank.initiate_payment(request).status == BankPaymentStatus.PDNG
    assert status_of(bank, request) == BankPaymentStatus.PDNG
    SandboxPayment.objects.filter(payment_id=request.payment_id).update(
        settle_after=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    )
    assert status_of(bank, request) == BankPaymentStatus.ACSC
    assert balance(rich) == Decimal("100000.00") - Decimal(amount)


@pytest.mark.usefixtures("scenarios_on")
def test_holder_rejects_20201(bank, rich, creditor):
    request = initiation(payment_data(rich, creditor, "20201.00"))
    result = bank.initiate_payment(request)
    assert (result.status, result.rejection_code) == (BankPaymentStatus.RJCT, "PAGAMENTO_RECUSADO_DETENTORA")
    assert status_of(bank, request) == BankPaymentStatus.RJCT
    assert balance(rich) == Decimal("100000.00")


@pytest.mark.usefixtures("scenarios_on")
def test_holder_cancels_scheduled_1400(bank, rich, creditor):
    request = initiation(payment_data(rich, creditor, "1400.00", payment_date=business_date() + dt.timedelta(days=3)))
    assert bank.initiate_payment(request).status == BankPaymentStatus.SCHD
    assert status_of(bank, request) == BankPaymentStatus.CANC
    assert SandboxPayment.objects.get(payment_id=request.payment_id).cancelled_at is not None
    assert balance(rich) == Decimal("100000.00")


@pytest.mark.usefixtures("scenarios_on")
@pytest.mark.parametrize(
    ("amount", "status", "debited"),
    [
        ("1334.00", BankPaymentStatus.ACPD, Decimal("0")),
        ("1335.00", BankPaymentStatus.ACCP, Decimal("0")),
        ("1336.00", BankPaymentStatus.ACSC, Decimal("1336.00")),
    ],
)
def test_fixed_statuses(bank, rich, creditor, amount, status, debited):
    request = initiation(payment_data(rich, creditor, amount))
    assert bank.initiate_payment(request).status == status
    assert status_of(bank, request) == status  # it stays there
    assert balance(rich) == Decimal("100000.00") - debited


@pytest.mark.usefixtures("scenarios_on")
@pytest.mark.parametrize("amount", ["10422.00", "10422.99"])
def test_consent_rejection_10422(bank, rich, creditor, amount):
    assert is_consent_rejection_scenario(Decimal(amount)) is True
    issues = bank.validate_payment_data(payment_data(rich, creditor, amount)).issues
    assert [issue.code for issue in issues] == ["NAO_INFORMADO"]


@pytest.mark.usefixtures("scenarios_on")
@pytest.mark.parametrize("amount", ["20422.00", "20422.50"])
def test_payment_rejection_20422(bank, rich, creditor, amount):
    assert is_payment_rejection_scenario(Decimal(amount)) is True
    assert bank.validate_payment_data(payment_data(rich, creditor, amount)).ok is True
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(payment_data(rich, creditor, amount)))
    assert raised.value.code == "PAGAMENTO_RECUSADO_DETENTORA"
    assert SandboxPayment.objects.count() == 0
    assert balance(rich) == Decimal("100000.00")


@pytest.mark.usefixtures("scenarios_on")
def test_fake_proxy_is_invalid_detail(bank, rich, creditor):
    data = payment_data(rich, creditor, proxy="fakeperson@example.com")
    assert [issue.code for issue in bank.validate_payment_data(data).issues] == ["DETALHE_PAGAMENTO_INVALIDO"]
    with pytest.raises(ConnectorRejected) as raised:
        bank.initiate_payment(initiation(data))
    assert raised.value.code == "DETALHE_PAGAMENTO_INVALIDO"


def test_scenario_amount_helpers_only_match_their_range():
    assert not is_consent_rejection_scenario(Decimal("10421.99"))
    assert not is_consent_rejection_scenario(Decimal("10423.00"))
    assert not is_payment_rejection_scenario(Decimal("20423.00"))


@pytest.mark.usefixtures("scenarios_off")
@pytest.mark.parametrize("amount", ["12345.67", "20201.00", "1334.00", "1335.00", "20422.00"])
def test_without_the_setting_scenario_amounts_are_ordinary(bank, rich, creditor, amount):
    assert bank.validate_payment_data(payment_data(rich, creditor, "10422.00")).ok is True
    result = bank.initiate_payment(initiation(payment_data(rich, creditor, amount)))
    assert result.status == BankPaymentStatus.ACSC
    assert balance(rich) == Decimal("100000.00") - Decimal(amount)


@pytest.mark.usefixtures("scenarios_off")
def test_without_the_setting_1400_scheduled_stays_scheduled(bank, rich, creditor):
    request = initiation(payment_data(rich, creditor, "1400.00", payment_date=business_date() + dt.timedelta(days=3)))
    bank.initiate_payment(request)
    assert status_of(bank, request) == BankPaymentStatus.SCHD
