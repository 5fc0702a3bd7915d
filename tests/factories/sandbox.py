"""factory-boy factories for the sandbox bank's models, and builders of connector inputs."""

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone

from connectors.interfaces import PaymentData, PaymentInitiation
from connectors.models import (
    SandboxAccount,
    SandboxCustomer,
    SandboxLedgerEntry,
    SandboxPayment,
    SandboxPixKey,
    SandboxQrCode,
)
from opusof.brcode import build_static
from opusof.timeutil import business_date

PASSWORD = "secret123"


def _check_digit(digits: str, first_weight: int) -> str:
    total = sum(int(d) * w for d, w in zip(digits, range(first_weight, 1, -1), strict=False))
    return str(0 if total % 11 < 2 else 11 - total % 11)


def cpf(n: int) -> str:
    """The n-th valid CPF of a sequence that never repeats a digit throughout."""
    base = f"{n + 100_000_000:09d}"[-9:]
    base += _check_digit(base, 10)
    return base + _check_digit(base, 11)


def cnpj(n: int) -> str:
    base = f"{n + 10_000_000:08d}"[-8:] + "0001"
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for _ in range(2):
        total = sum(int(d) * w for d, w in zip(base, weights, strict=True))
        base += str(0 if total % 11 < 2 else 11 - total % 11)
        weights = [6, *weights]
    return base


class SandboxCustomerFactory(factory.django.DjangoModelFactory[SandboxCustomer]):
    class Meta:
        model = SandboxCustomer
        django_get_or_create = ["document"]
        skip_postgeneration_save = True

    document = factory.Sequence(cpf)
    kind = SandboxCustomer.Kind.INDIVIDUAL
    name = factory.Faker("name", locale="pt_BR")
    password = ""

    @factory.post_generation
    def with_password(obj: SandboxCustomer, create: bool, extracted: Any, **kwargs: Any) -> None:
        if obj.kind == SandboxCustomer.Kind.INDIVIDUAL:  # a business has no login of its own
            obj.set_password(extracted or PASSWORD)
            if create:
                obj.save(update_fields=["password"])


class SandboxBusinessFactory(SandboxCustomerFactory):
    document = factory.Sequence(cnpj)
    kind = SandboxCustomer.Kind.BUSINESS
    name = factory.Faker("company", locale="pt_BR")

    @factory.post_generation
    def authorised_people(obj: SandboxCustomer, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            obj.authorised_people.add(*extracted)


class SandboxAccountFactory(factory.django.DjangoModelFactory[SandboxAccount]):
    class Meta:
        model = SandboxAccount

    ispb = factory.LazyFunction(lambda: settings.OPUSOF_ISPB)
    issuer = "0001"
    number = factory.Sequence(lambda n: f"{500000 + n}")
    account_type = "CACC"
    owner = factory.SubFactory(SandboxCustomerFactory)
    balance = Decimal("1000.00")
    settle_delay_seconds = 0.2
    slow_seconds = 0.2


class SandboxPixKeyFactory(factory.django.DjangoModelFactory[SandboxPixKey]):
    class Meta:
        model = SandboxPixKey

    key = factory.Sequence(lambda n: f"person{n}@example.com")
    key_type = SandboxPixKey.KeyType.EMAIL
    account = factory.SubFactory(SandboxAccountFactory)


class SandboxQrCodeFactory(factory.django.DjangoModelFactory[SandboxQrCode]):
    """A static QR; dynamic ones come from ``SandboxBank.issue_dynamic_qr`` (it also builds the location)."""

    class Meta:
        model = SandboxQrCode

    txid = factory.Sequence(lambda n: f"STATIC{n:06d}")
    kind = SandboxQrCode.Kind.STATIC
    amount = Decimal("10.00")
    pix_key = factory.SubFactory(SandboxPixKeyFactory)
    creditor_account = factory.SelfAttribute("pix_key.account")
    payload = factory.LazyAttribute(lambda o: build_static(o.pix_key.key, o.amount, "LOJA", "SAO PAULO", txid=o.txid))


class SandboxPaymentFactory(factory.django.DjangoModelFactory[SandboxPayment]):
    """A payment already on the bank's books (SCHD tomorrow by default)."""

    class Meta:
        model = SandboxPayment

    payment_id = factory.Sequence(lambda n: f"pay-{n}")
    end_to_end_id = factory.Sequence(lambda n: f"E99999004202501011200{n:011d}")
    idempotency_key = factory.SelfAttribute("payment_id")
    amount = Decimal("10.00")
    debtor_account = factory.SubFactory(SandboxAccountFactory)
    creditor_ispb = "12345678"
    creditor_issuer = "0001"
    creditor_number = "1"
    creditor_account_type = "CACC"
    local_instrument = "MANU"
    status = "SCHD"
    scheduled_date = factory.LazyFunction(lambda: business_date() + dt.timedelta(days=1))


class SandboxLedgerEntryFactory(factory.django.DjangoModelFactory[SandboxLedgerEntry]):
    class Meta:
        model = SandboxLedgerEntry

    account = factory.SelfAttribute("payment.debtor_account")
    payment = factory.SubFactory(SandboxPaymentFactory, status="ACSC", scheduled_date=None)
    direction = SandboxLedgerEntry.Direction.DEBIT
    amount = factory.SelfAttribute("payment.amount")
    balance_after = Decimal("0.00")


def payment_data(
    debtor: SandboxAccount, creditor: SandboxAccount, amount: Decimal | str = "10.00", **changes: Any
) -> PaymentData:
    """A DICT payment from ``debtor`` to ``creditor``'s first Pix key (MANU when it has none)."""
    key = creditor.pix_keys.first()
    data = PaymentData(
        amount=Decimal(amount),
        local_instrument="DICT" if key else "MANU",
        creditor_account=creditor.ref,
        creditor_document=creditor.owner.document,
        creditor_name=creditor.owner.name,
        customer_document=debtor.owner.document,
        debtor_account=debtor.ref,
        proxy=key.key if key else None,
    )
    return replace(data, **changes)


def initiation(data: PaymentData, key: str | None = None) -> PaymentInitiation:
    payment_id = key or uuid.uuid4().hex
    return PaymentInitiation(
        payment_id=payment_id,
        end_to_end_id=f"E{settings.OPUSOF_ISPB}{timezone.now():%Y%m%d%H%M}{payment_id[:11].ljust(11, '0')}",
        idempotency_key=payment_id,
        data=data,
    )
