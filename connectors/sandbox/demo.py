"""Fixed demo data of the sandbox bank. ``load_sandbox_demo()`` is idempotent: rows are found by their natural
keys and created only when missing, so a second run changes nothing (not even balances spent since).

Individuals log in on the consent pages with CPF + password ``demo1234``. "here" is ``settings.OPUSOF_ISPB``
(issuer 0001 everywhere); the merchant banks at ``OTHER_ISPB`` 12345678, so paying it leaves the sandbox bank.

- Ana Souza, CPF 12345678909: here 10000001 CACC R$ 10,000,000.00, 10000002 SVGS R$ 5,000.00, 10000003 SLRY
  R$ 3,000.00 (may not pay); limits R$ 1,000,000.00 per payment, R$ 10,000,000.00 a day;
  keys CPF 12345678909 and ana.souza@example.com (both on 10000001).
- Bruno Lima, CPF 98765432100: here 20000001 CACC R$ 50.00; limits R$ 1,000.00 / R$ 2,000.00 a day;
  key +5511987654321. Authorised person of the Padaria.
- Padaria Pao Quente Ltda, CNPJ 11222333000181 (business, no login of its own): here 30000001 CACC
  R$ 250,000.00; limits R$ 100,000.00 / R$ 500,000.00 a day; key CNPJ 11222333000181.
- Loja Exemplo Comercio Ltda, CNPJ 12345678000195 (creditor merchant): 12345678 90000001 CACC R$ 1,000.00; keys
  CNPJ, loja@example.com, +5521912345678 and EVP 7d9f0335-8dcc-4054-9bf9-0dbd61d36906. Pix paid to it leave the
  sandbox's books (another ISPB); the balance is what its devoluções (connectors.sandbox.refunds) are paid from.
- QR codes paying the merchant: static ``DEMOSTATIC0001`` (R$ 100.00, EVP key) and dynamic
  ``DEMODYNAMIC00000000000000001`` (R$ 250.00, key loja@example.com, location ``<host>/sandbox/qr/demo0001``,
  valid one year from the first load, single use).
"""

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from connectors.models import SandboxAccount, SandboxCustomer, SandboxPixKey, SandboxQrCode
from opusof.brcode import build_dynamic, build_static

PASSWORD = "demo1234"
OTHER_ISPB = "12345678"
DEMO_EVP = "7d9f0335-8dcc-4054-9bf9-0dbd61d36906"
STATIC_TXID = "DEMOSTATIC0001"
DYNAMIC_TXID = "DEMODYNAMIC00000000000000001"
HERE = None  # resolved to settings.OPUSOF_ISPB at load time

Individual, Business = SandboxCustomer.Kind.INDIVIDUAL, SandboxCustomer.Kind.BUSINESS
CUSTOMERS: list[dict[str, Any]] = [
    {
        "name": "Ana Souza",
        "document": "12345678909",
        "kind": Individual,
        "transaction_limit": Decimal("1000000.00"),
        "daily_limit": Decimal("10000000.00"),
        "accounts": [
            {"ispb": HERE, "number": "10000001", "account_type": "CACC", "balance": Decimal("10000000.00")},
            {"ispb": HERE, "number": "10000002", "account_type": "SVGS", "balance": Decimal("5000.00")},
            {
                "ispb": HERE,
                "number": "10000003",
                "account_type": "SLRY",
                "balance": Decimal("3000.00"),
                "may_pay": False,
            },
        ],
        "pix_keys": [("CPF", "12345678909", "10000001"), ("EMAIL", "ana.souza@example.com", "10000001")],
    },
    {
        "name": "Bruno Lima",
        "document": "98765432100",
        "kind": Individual,
        "transaction_limit": Decimal("1000.00"),
        "daily_limit": Decimal("2000.00"),
        "accounts": [{"ispb": HERE, "number": "20000001", "account_type": "CACC", "balance": Decimal("50.00")}],
        "pix_keys": [("PHONE", "+5511987654321", "20000001")],
    },
    {
        "name": "Padaria Pao Quente Ltda",
        "document": "11222333000181",
        "kind": Business,
        "transaction_limit": Decimal("100000.00"),
        "daily_limit": Decimal("500000.00"),
        "authorised_people": ["98765432100"],
        "accounts": [{"ispb": HERE, "number": "30000001", "account_type": "CACC", "balance": Decimal("250000.00")}],
        "pix_keys": [("CNPJ", "11222333000181", "30000001")],
    },
    {
        "name": "Loja Exemplo Comercio Ltda",
        "document": "12345678000195",
        "kind": Business,
        "accounts": [{"ispb": OTHER_ISPB, "number": "90000001", "account_type": "CACC", "balance": Decimal("1000.00")}],
        "pix_keys": [
            ("CNPJ", "12345678000195", "90000001"),
            ("EMAIL", "loja@example.com", "90000001"),
            ("PHONE", "+5521912345678", "90000001"),
            ("EVP", DEMO_EVP, "90000001"),
        ],
    },
]
MERCHANT_NAME, CITY = "LOJA EXEMPLO", "SAO PAULO"  # BR Code: name up to 25, city up to 15


def _load_customer(spec: dict[str, Any], own_ispb: str) -> dict[str, Any]:
    customer, _ = SandboxCustomer.objects.get_or_create(
        document=spec["document"],
        defaults={
            "name": spec["name"],
            "kind": spec["kind"],
            "password": make_password(PASSWORD) if spec["kind"] == Individual else "",
            **{field: spec[field] for field in ("transaction_limit", "daily_limit") if field in spec},
        },
    )
    for cpf in spec.get("authorised_people", []):
        customer.authorised_people.add(SandboxCustomer.objects.get(document=cpf))
    accounts: dict[str, SandboxAccount] = {}
    for account in spec["accounts"]:
        ispb = account["ispb"] or own_ispb
        accounts[account["number"]], _ = SandboxAccount.objects.get_or_create(
            ispb=ispb,
            issuer="0001",
            number=account["number"],
            account_type=account["account_type"],
            defaults={"owner": customer, "balance": account["balance"], "may_pay": account.get("may_pay", True)},
        )
    for key_type, key, number in spec["pix_keys"]:
        SandboxPixKey.objects.get_or_create(key=key, defaults={"key_type": key_type, "account": accounts[number]})
    return {
        "name": customer.name,
        "document": customer.document,
        "kind": customer.kind,
        "password": PASSWORD if customer.kind == Individual else None,
        "authorised_people": spec.get("authorised_people", []),
        "accounts": [
            {
                "ispb": account["ispb"] or own_ispb,
                "issuer": "0001",
                "number": account["number"],
                "account_type": account["account_type"],
                "opening_balance": f"{account['balance']:.2f}",
                "may_pay": account.get("may_pay", True),
            }
            for account in spec["accounts"]
        ],
        "pix_keys": [{"type": key_type, "key": key} for key_type, key, _ in spec["pix_keys"]],
    }


def _load_qr(txid: str, **fields: Any) -> SandboxQrCode:
    pix_key = SandboxPixKey.objects.get(key=fields.pop("key"))
    qr, _ = SandboxQrCode.objects.get_or_create(
        txid=txid, defaults={"pix_key": pix_key, "creditor_account": pix_key.account, **fields}
    )
    return qr


@transaction.atomic
def load_sandbox_demo() -> dict[str, Any]:
    """Creates what is missing of the demo customers, accounts, keys and QR codes; returns their identifiers."""
    own_ispb = str(settings.OPUSOF_ISPB)
    customers = [_load_customer(spec, own_ispb) for spec in CUSTOMERS]
    location = f"{urlsplit(settings.OPUSOF_BASE_URL).netloc}/sandbox/qr/demo0001"
    static = _load_qr(
        STATIC_TXID,
        key=DEMO_EVP,
        kind=SandboxQrCode.Kind.STATIC,
        amount=Decimal("100.00"),
        payload=build_static(DEMO_EVP, Decimal("100.00"), MERCHANT_NAME, CITY, txid=STATIC_TXID),
    )
    dynamic = _load_qr(
        DYNAMIC_TXID,
        key="loja@example.com",
        kind=SandboxQrCode.Kind.DYNAMIC,
        amount=Decimal("250.00"),
        payload=build_dynamic(location, MERCHANT_NAME, CITY),
        location=location,
        expires_at=timezone.now() + dt.timedelta(days=365),
    )
    return {
        "ispb": own_ispb,
        "other_ispb": OTHER_ISPB,
        "password": PASSWORD,
        "customers": customers,
        "qr_codes": {
            "static": {"txid": static.txid, "key": DEMO_EVP, "amount": "100.00", "payload": static.payload},
            "dynamic": {
                "txid": dynamic.txid,
                "key": "loja@example.com",
                "amount": "250.00",
                "url": dynamic.location,
                "payload": dynamic.payload,
            },
        },
    }
