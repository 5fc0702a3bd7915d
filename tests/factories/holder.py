"""factory-boy factories for the holder's own rows when their state is not what the test is about: a consumed
scheduled consent, its SCHD payments, an idempotency record. Tests about how a row gets into a state go through the
API or the services instead."""

import datetime as dt
import uuid
from decimal import Decimal

import factory
from django.conf import settings
from django.utils import timezone

from connectors.sandbox.demo import OTHER_ISPB
from consents.models import ConsentStatus, PaymentConsent
from opusof.models import IdempotencyRecord
from payments.models import PaymentStatus, PixPayment

# The demo bank's merchant, at another institution (connectors/sandbox/demo.py).
CREDITOR = {"ispb": OTHER_ISPB, "issuer": "0001", "number": "90000001", "accountType": "CACC"}


class ScheduledConsentFactory(factory.django.DjangoModelFactory[PaymentConsent]):
    """A CONSUMED payments v4 consent of a single payment on ``day`` (a Params value; today by default)."""

    class Meta:
        model = PaymentConsent

    class Params:
        day = factory.LazyFunction(lambda: timezone.now().date())

    status = ConsentStatus.CONSUMED
    created_at = factory.LazyFunction(timezone.now)
    status_updated_at = factory.SelfAttribute("created_at")
    expires_at = factory.SelfAttribute("created_at")
    logged_user_document = "12345678909"
    creditor_document = "12345678000195"
    creditor_name = "Loja Exemplo Comercio Ltda"
    amount = Decimal("10.00")
    local_instrument = "MANU"
    creditor_ispb = CREDITOR["ispb"]
    creditor_issuer = CREDITOR["issuer"]
    creditor_number = CREDITOR["number"]
    creditor_account_type = CREDITOR["accountType"]
    schedule = factory.LazyAttribute(lambda o: {"single": {"date": o.day.isoformat()}})
    scheduled_dates = factory.LazyAttribute(lambda o: [o.day.isoformat()])
    request_data = factory.LazyFunction(dict)


class ScheduledPaymentFactory(factory.django.DjangoModelFactory[PixPayment]):
    """A SCHD Pix payment of ``consent`` on its scheduled date, to the consent's creditor; the debtor account is
    the caller's (``debtor_ispb``, ``debtor_issuer``, ``debtor_number``, ``debtor_account_type``)."""

    class Meta:
        model = PixPayment

    payment_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    client = factory.SelfAttribute("consent.client")
    status = PaymentStatus.SCHD
    created_at = factory.LazyFunction(timezone.now)
    status_updated_at = factory.SelfAttribute("created_at")
    scheduled_date = factory.LazyAttribute(lambda o: dt.date.fromisoformat(o.consent.scheduled_dates[0]))
    end_to_end_id = factory.Sequence(lambda n: f"E{settings.OPUSOF_ISPB}{timezone.now():%Y%m%d}15{n:011d}"[:32])
    local_instrument = factory.SelfAttribute("consent.local_instrument")
    amount = factory.SelfAttribute("consent.amount")
    creditor_ispb = factory.SelfAttribute("consent.creditor_ispb")
    creditor_issuer = factory.SelfAttribute("consent.creditor_issuer")
    creditor_number = factory.SelfAttribute("consent.creditor_number")
    creditor_account_type = factory.SelfAttribute("consent.creditor_account_type")
    cnpj_initiator = "11222333000181"


class IdempotencyRecordFactory(factory.django.DjangoModelFactory[IdempotencyRecord]):
    """A stored ``x-idempotency-key`` answer of ``client``, expiring in 24 h unless ``expires_at`` says otherwise."""

    class Meta:
        model = IdempotencyRecord

    endpoint = "payments-v4:consents-create"
    key = factory.Sequence(lambda n: f"key-{n}")
    data_hash = "h"
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(hours=24))
