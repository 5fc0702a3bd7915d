from decimal import Decimal

import pytest
from django.conf import settings

from connectors.interfaces import BankPaymentStatus, PaymentData, PaymentInitiation
from connectors.models import SandboxAccount, SandboxCustomer, SandboxPixKey, SandboxQrCode
from connectors.sandbox import SandboxBank
from connectors.sandbox.demo import load_sandbox_demo
from opusof.brcode import parse_brcode
from opusof.documents import is_valid_cnpj, is_valid_cpf

pytestmark = pytest.mark.django_db
TABLES = [SandboxCustomer, SandboxAccount, SandboxPixKey, SandboxQrCode]


def snapshot() -> dict[str, list[tuple]]:
    return {model.__name__: sorted(model._default_manager.values_list()) for model in TABLES}


def test_demo_loader_is_idempotent():
    first = load_sandbox_demo()
    before = snapshot()
    assert load_sandbox_demo() == first
    assert snapshot() == before
    assert {name: len(rows) for name, rows in before.items()} == {
        "SandboxCustomer": 4,
        "SandboxAccount": 6,
        "SandboxPixKey": 8,
        "SandboxQrCode": 2,
    }


def test_demo_identifiers():
    demo = load_sandbox_demo()
    customers = {c["document"]: c for c in demo["customers"]}
    assert set(customers) == {"12345678909", "98765432100", "11222333000181", "12345678000195"}
    assert all(is_valid_cpf(doc) or is_valid_cnpj(doc) for doc in customers)
    assert customers["12345678909"]["password"] == "demo1234"
    assert customers["11222333000181"]["password"] is None
    assert customers["11222333000181"]["authorised_people"] == ["98765432100"]
    assert demo["ispb"] == settings.OPUSOF_ISPB
    assert {k["type"] for c in demo["customers"] for k in c["pix_keys"]} == {"CPF", "CNPJ", "PHONE", "EMAIL", "EVP"}
    assert {a["ispb"] for a in customers["12345678000195"]["accounts"]} == {demo["other_ispb"]}
    assert parse_brcode(demo["qr_codes"]["static"]["payload"]).amount == Decimal("100.00")
    assert parse_brcode(demo["qr_codes"]["dynamic"]["payload"]).url == demo["qr_codes"]["dynamic"]["url"]


def test_demo_customers_can_log_in_discover_and_pay():
    demo = load_sandbox_demo()
    bank = SandboxBank()
    assert bank.authenticate("12345678909", demo["password"]) is not None
    ana = bank.discover_accounts(customer_document="12345678909")
    assert [(a.account.number, a.may_pay) for a in ana] == [("10000001", True), ("10000002", True), ("10000003", False)]
    padaria = bank.discover_accounts(customer_document="98765432100", business_document="11222333000181")
    assert [a.account.number for a in padaria] == ["30000001"]

    merchant = bank.lookup_pix_key("7d9f0335-8dcc-4054-9bf9-0dbd61d36906")
    assert merchant is not None
    data = PaymentData(
        amount=Decimal("100.00"),
        local_instrument="QRES",
        creditor_account=merchant.account,
        creditor_document=merchant.owner_document,
        creditor_name=merchant.owner_name,
        customer_document="12345678909",
        debtor_account=ana[0].account,
        proxy=merchant.key,
        qr_code=demo["qr_codes"]["static"]["payload"],
    )
    assert bank.validate_payment_data(data).ok is True
    result = bank.initiate_payment(PaymentInitiation("demo-1", "E99999004202501011200demo0000001", "demo-1", data))
    assert result.status == BankPaymentStatus.ACSC
    assert SandboxAccount.objects.get(number="10000001").balance == Decimal("9999900.00")
