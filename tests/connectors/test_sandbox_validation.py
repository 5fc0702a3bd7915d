import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.interfaces import AccountRef, AccountType
from connectors.models import SandboxAccount, SandboxQrCode
from opusof.brcode import build_dynamic, build_static
from opusof.timeutil import business_date
from tests.factories.sandbox import (
    SandboxAccountFactory,
    SandboxBusinessFactory,
    SandboxCustomerFactory,
    SandboxPaymentFactory,
    SandboxPixKeyFactory,
    payment_data,
)

pytestmark = pytest.mark.django_db


def codes(bank, data):
    return {issue.code for issue in bank.validate_payment_data(data).issues}


def test_a_valid_payment_has_no_issues(bank, debtor, creditor):
    result = bank.validate_payment_data(payment_data(debtor, creditor, "10.00"))
    assert result.ok is True
    assert result.issues == ()


# --- CONTA_NAO_PERMITE_PAGAMENTO --------------------------------------------------------------------------------


def test_unknown_debtor_account(bank, debtor, creditor):
    data = payment_data(debtor, creditor, debtor_account=AccountRef("99999004", "999", AccountType.CACC, "0001"))
    assert codes(bank, data) == {"CONTA_NAO_PERMITE_PAGAMENTO"}


def test_debtor_account_of_someone_else(bank, debtor, creditor):
    data = payment_data(debtor, creditor, customer_document=SandboxCustomerFactory.create().document)
    assert codes(bank, data) == {"CONTA_NAO_PERMITE_PAGAMENTO"}


def test_debtor_account_that_may_not_pay(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(may_pay=False)
    assert codes(bank, payment_data(debtor, creditor)) == {"CONTA_NAO_PERMITE_PAGAMENTO"}


def test_debtor_account_at_another_institution(bank, creditor):
    elsewhere = SandboxAccountFactory.create(ispb="12345678")
    assert codes(bank, payment_data(elsewhere, creditor)) == {"CONTA_NAO_PERMITE_PAGAMENTO"}


def test_business_account_for_an_authorised_person(bank, creditor):
    person = SandboxCustomerFactory.create()
    business = SandboxBusinessFactory.create(authorised_people=[person])
    account = SandboxAccountFactory.create(owner=business)
    data = payment_data(account, creditor, customer_document=person.document, business_document=business.document)
    assert codes(bank, data) == set()


def test_business_account_for_someone_not_authorised(bank, creditor):
    business = SandboxBusinessFactory.create(authorised_people=[SandboxCustomerFactory.create()])
    account = SandboxAccountFactory.create(owner=business)
    outsider = SandboxCustomerFactory.create()
    data = payment_data(account, creditor, customer_document=outsider.document, business_document=business.document)
    assert codes(bank, data) == {"CONTA_NAO_PERMITE_PAGAMENTO"}


# --- CONTAS_ORIGEM_DESTINO_IGUAIS, limits, balance -----------------------------------------------------------


def test_same_debtor_and_creditor_account(bank, debtor):
    data = payment_data(debtor, debtor)  # MANU to its own account
    assert codes(bank, data) == {"CONTAS_ORIGEM_DESTINO_IGUAIS"}


def test_over_the_per_payment_limit(bank, creditor):
    account = SandboxAccountFactory.create(owner=SandboxCustomerFactory.create(transaction_limit=Decimal("100.00")))
    assert codes(bank, payment_data(account, creditor, "100.00")) == set()
    assert codes(bank, payment_data(account, creditor, "100.01")) == {"VALOR_ACIMA_LIMITE"}


def test_over_the_daily_limit_counts_todays_payments(bank, creditor):
    account = SandboxAccountFactory.create(owner=SandboxCustomerFactory.create(daily_limit=Decimal("500.00")))
    SandboxPaymentFactory.create(debtor_account=account, amount=Decimal("400.00"), status="ACSC", scheduled_date=None)
    SandboxPaymentFactory.create(debtor_account=account, amount=Decimal("400.00"), status="RJCT", scheduled_date=None)
    assert codes(bank, payment_data(account, creditor, "100.00")) == set()
    assert codes(bank, payment_data(account, creditor, "100.01")) == {"VALOR_ACIMA_LIMITE"}


def test_limit_exceeded_behaviour(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(behaviour=SandboxAccount.Behaviour.LIMIT_EXCEEDED)
    assert codes(bank, payment_data(debtor, creditor, "1.00")) == {"VALOR_ACIMA_LIMITE"}


def test_insufficient_balance_for_an_immediate_payment(bank, debtor, creditor):
    assert codes(bank, payment_data(debtor, creditor, "1000.00")) == set()
    assert codes(bank, payment_data(debtor, creditor, "1000.01")) == {"SALDO_INSUFICIENTE"}
    today = business_date()
    assert codes(bank, payment_data(debtor, creditor, "1000.01", payment_date=today)) == {"SALDO_INSUFICIENTE"}


def test_balance_is_never_checked_for_a_scheduled_payment(bank, debtor, creditor):
    tomorrow = business_date() + dt.timedelta(days=1)
    assert codes(bank, payment_data(debtor, creditor, "5000.00", payment_date=tomorrow)) == set()


def test_insufficient_funds_behaviour(bank, debtor, creditor):
    SandboxAccount.objects.filter(pk=debtor.pk).update(behaviour=SandboxAccount.Behaviour.INSUFFICIENT_FUNDS)
    assert codes(bank, payment_data(debtor, creditor, "1.00")) == {"SALDO_INSUFICIENTE"}


# --- DICT: DETALHE_PAGAMENTO_INVALIDO ---------------------------------------------------------------------------


def test_proxy_not_in_the_directory(bank, debtor, creditor):
    assert codes(bank, payment_data(debtor, creditor, proxy="nobody@example.com")) == {"DETALHE_PAGAMENTO_INVALIDO"}


def test_proxy_of_another_account(bank, debtor, creditor, local_creditor):
    data = payment_data(debtor, creditor, proxy="+5511900000001")
    assert codes(bank, data) == {"DETALHE_PAGAMENTO_INVALIDO"}


def test_creditor_document_not_the_key_owner(bank, debtor, creditor):
    data = payment_data(debtor, creditor, creditor_document=SandboxCustomerFactory.create().document)
    assert codes(bank, data) == {"DETALHE_PAGAMENTO_INVALIDO"}


def test_manual_payment_to_a_missing_local_account(bank, debtor):
    ghost = SandboxAccountFactory.build(number="7777777", owner=SandboxCustomerFactory.create())
    data = payment_data(debtor, debtor, creditor_account=ghost.ref, creditor_document=ghost.owner.document)
    assert codes(bank, data) == {"DETALHE_PAGAMENTO_INVALIDO"}


# --- QR codes -----------------------------------------------------------------------------------------------------


def _static(amount="10.00", key="shop@example.com"):
    return build_static(key, Decimal(amount) if amount else None, "SHOP", "SAO PAULO", txid="ABC123")


def test_matching_static_qr(bank, debtor, creditor):
    data = payment_data(debtor, creditor, "10.00", local_instrument="QRES", qr_code=_static())
    assert codes(bank, data) == set()


def test_static_qr_without_amount_takes_any_amount(bank, debtor, creditor):
    data = payment_data(debtor, creditor, "12.34", local_instrument="QRES", qr_code=_static(amount=None))
    assert codes(bank, data) == set()


def test_unreadable_qr(bank, debtor, creditor):
    broken = _static()[:-1] + "0"
    data = payment_data(debtor, creditor, local_instrument="QRES", qr_code=broken)
    assert codes(bank, data) == {"QRCODE_INVALIDO"}


def test_static_qr_with_another_amount(bank, debtor, creditor):
    data = payment_data(debtor, creditor, "11.00", local_instrument="QRES", qr_code=_static())
    assert codes(bank, data) == {"QRCODE_INVALIDO", "VALOR_INVALIDO"}


def test_static_qr_with_another_key(bank, debtor, creditor):
    qr = _static(key="other@example.com")
    assert codes(bank, payment_data(debtor, creditor, local_instrument="QRES", qr_code=qr)) == {"QRCODE_INVALIDO"}


def test_static_qr_with_another_key_and_amount_is_just_another_qr(bank, debtor, creditor):
    qr = _static(amount="99.00", key="other@example.com")
    assert codes(bank, payment_data(debtor, creditor, local_instrument="QRES", qr_code=qr)) == {"QRCODE_INVALIDO"}


def test_qres_with_a_dynamic_qr(bank, debtor, creditor):
    qr = bank.issue_dynamic_qr(key="shop@example.com", amount=Decimal("10.00"))
    data = payment_data(debtor, creditor, local_instrument="QRES", qr_code=qr.payload)
    assert codes(bank, data) == {"QRCODE_INVALIDO"}


def test_active_dynamic_qr(bank, debtor, creditor):
    qr = bank.issue_dynamic_qr(key="shop@example.com", amount=Decimal("10.00"))
    data = payment_data(debtor, creditor, "10.00", local_instrument="QRDN", qr_code=qr.payload)
    assert codes(bank, data) == set()
    assert codes(bank, replace(data, amount=Decimal("9.99"))) == {"VALOR_INVALIDO"}


@pytest.mark.parametrize("change", ["used", "expired"])
def test_used_or_expired_dynamic_qr(bank, debtor, creditor, change):
    qr = bank.issue_dynamic_qr(key="shop@example.com", amount=Decimal("10.00"))
    if change == "used":
        SandboxQrCode.objects.filter(pk=qr.pk).update(status=SandboxQrCode.Status.USED)
    else:
        SandboxQrCode.objects.filter(pk=qr.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    data = payment_data(debtor, creditor, "10.00", local_instrument="QRDN", qr_code=qr.payload)
    assert codes(bank, data) == {"COBRANCA_INVALIDA"}


def test_unknown_dynamic_qr(bank, debtor, creditor):
    qr = build_dynamic("pix.elsewhere.test/qr/unknown", "SHOP", "SAO PAULO")
    data = payment_data(debtor, creditor, local_instrument="QRDN", qr_code=qr)
    assert codes(bank, data) == {"COBRANCA_INVALIDA"}


def test_several_problems_are_all_reported(bank, creditor):
    account = SandboxAccountFactory.create(
        balance=Decimal("5.00"), owner=SandboxCustomerFactory.create(transaction_limit=1)
    )
    SandboxPixKeyFactory.create(account=account)
    data = payment_data(account, creditor, "10.00", proxy="nobody@example.com", customer_document="12345678909")
    assert codes(bank, data) == {"CONTA_NAO_PERMITE_PAGAMENTO", "DETALHE_PAGAMENTO_INVALIDO"}
    data = payment_data(account, creditor, "10.00", local_instrument="QRES", qr_code=_static("9.00"))
    assert codes(bank, data) == {"QRCODE_INVALIDO", "VALOR_INVALIDO", "VALOR_ACIMA_LIMITE", "SALDO_INSUFICIENTE"}
    assert all(issue.detail for issue in bank.validate_payment_data(data).issues)
