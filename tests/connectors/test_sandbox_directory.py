"""Pix key directory, account discovery, customer login and the dynamic QR location."""

from decimal import Decimal

import pytest

from connectors.interfaces import AccountType
from connectors.models import SandboxCustomer, SandboxPixKey
from opusof.brcode import parse_brcode
from tests.factories.sandbox import (
    PASSWORD,
    SandboxAccountFactory,
    SandboxBusinessFactory,
    SandboxCustomerFactory,
    SandboxPixKeyFactory,
)

pytestmark = pytest.mark.django_db
KeyType = SandboxPixKey.KeyType


@pytest.mark.parametrize(
    ("key_type", "key", "lookup"),
    [
        (KeyType.CPF, "52998224725", "52998224725"),
        (KeyType.CNPJ, "11222333000181", "11222333000181"),
        (KeyType.PHONE, "+5511987654321", "+5511987654321"),
        (KeyType.EMAIL, "maria@example.com", "Maria@Example.com"),
        (KeyType.EVP, "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011", "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011"),
    ],
)
def test_lookup_each_key_type(bank, key_type, key, lookup):
    account = SandboxAccountFactory.create(number="4242", account_type="SVGS")
    SandboxPixKeyFactory.create(key=key, key_type=key_type, account=account)
    entry = bank.lookup_pix_key(lookup)
    assert entry is not None
    assert (entry.key, entry.key_type) == (key, key_type)
    assert (entry.account.number, entry.account.account_type, entry.account.issuer) == (
        "4242",
        AccountType.SVGS,
        "0001",
    )
    assert (entry.owner_name, entry.owner_document) == (account.owner.name, account.owner.document)


def test_lookup_unknown_key(bank):
    assert bank.lookup_pix_key("+5511000000000") is None


def test_discovery_for_an_individual_lists_own_accounts_here(bank):
    person = SandboxCustomerFactory.create(name="Maria Teste")
    checking = SandboxAccountFactory.create(owner=person, number="1")
    salary = SandboxAccountFactory.create(owner=person, number="2", account_type="SLRY", may_pay=False)
    SandboxAccountFactory.create(owner=person, number="3", ispb="12345678")  # another bank's: not ours to list
    SandboxAccountFactory.create(number="4")  # someone else's
    found = bank.discover_accounts(customer_document=person.document)
    assert [(a.account, a.may_pay) for a in found] == [(checking.ref, True), (salary.ref, False)]
    assert {(a.holder_name, a.holder_document) for a in found} == {("Maria Teste", person.document)}


def test_discovery_for_a_business_needs_an_authorised_person(bank):
    person, outsider = SandboxCustomerFactory.create(), SandboxCustomerFactory.create()
    business = SandboxBusinessFactory.create(name="Empresa Teste", authorised_people=[person])
    account = SandboxAccountFactory.create(owner=business)
    SandboxAccountFactory.create(owner=person)
    found = bank.discover_accounts(customer_document=person.document, business_document=business.document)
    assert [(a.account, a.holder_name, a.holder_document) for a in found] == [
        (account.ref, "Empresa Teste", business.document)
    ]
    assert bank.discover_accounts(customer_document=outsider.document, business_document=business.document) == []


def test_discovery_for_an_unknown_customer(bank):
    assert bank.discover_accounts(customer_document="52998224725") == []


def test_authenticate_by_cpf_and_password(bank):
    person = SandboxCustomerFactory.create()
    assert bank.authenticate(person.document, PASSWORD) == person
    assert bank.authenticate(person.document, "wrong") is None
    assert bank.authenticate("52998224725", PASSWORD) is None
    assert SandboxCustomer.objects.get(pk=person.pk).password.startswith("md5$")  # hashed, never stored raw


def test_business_cannot_log_in(bank):
    business = SandboxBusinessFactory.create()
    assert business.password == ""
    assert bank.authenticate(business.document, "") is None


def test_issued_static_qr(bank):
    SandboxPixKeyFactory.create(key="loja@example.com", account__owner=SandboxBusinessFactory.create(name="Loja"))
    qr = bank.issue_static_qr(key="loja@example.com", txid="PEDIDO42", amount=Decimal("15.90"))
    code = parse_brcode(qr.payload)
    assert (code.key, code.amount, code.txid, code.merchant_name) == (
        "loja@example.com",
        Decimal("15.90"),
        "PEDIDO42",
        "Loja",
    )
    assert qr.creditor_account == qr.pix_key.account


def test_dynamic_qr_location_serves_the_charge(bank, settings):
    SandboxPixKeyFactory.create(key="loja@example.com")
    qr = bank.issue_dynamic_qr(key="loja@example.com", amount=Decimal("99.90"))
    code = parse_brcode(qr.payload)
    assert code.is_dynamic and code.url == qr.location
    assert qr.location.startswith("api.opusof.test/sandbox/qr/")
    served = bank.dynamic_qr_payload(code.url)
    assert served is not None
    assert served["txid"] == qr.txid and 26 <= len(qr.txid) <= 35
    assert served["valor"] == {"original": "99.90"}
    assert served["chave"] == "loja@example.com"
    assert served["status"] == "ATIVA"
    assert served["calendario"]["expiracao"] == 3600
    assert bank.dynamic_qr_payload("api.opusof.test/sandbox/qr/unknown") is None
