"""Request bodies for automatic payments v2 tests, valid by default, around the sandbox bank's demo data; and
simulated time for journeys over several days (``pass_a_day``)."""

import datetime as dt
from typing import Any

from opusof.timeutil import business_date
from recurring.models import RecurringPayment
from tests.support.payment_bodies import (
    ANA_ACCOUNT,
    ANA_CPF,
    BRUNO_ACCOUNT,
    BRUNO_CPF,
    INITIATOR_CNPJ,
    MERCHANT_ACCOUNT,
    MERCHANT_CNPJ,
    end_to_end_id,
    own,
)

ANA_SAVINGS = {"ispb": None, "issuer": "0001", "number": "10000002", "accountType": "SVGS"}
MERCHANT_NAME = "Loja Exemplo Comercio Ltda"
RISK_SIGNALS_AUTOMATIC = {"automatic": {"lastLoginDateTime": "2026-01-01T10:00:00Z"}}
RISK_SIGNALS_EDITION = {
    "deviceId": "00000000-54b3-e7c7-0000-000046bffd97",
    "osVersion": "16.6",
    "userTimeZoneOffset": "-03",
    "language": "pt",
    "screenDimensions": {"height": 1080, "width": 1920},
    "accountTenure": "2020-01-01",
}

__all__ = ["ANA_ACCOUNT", "ANA_CPF", "BRUNO_ACCOUNT", "BRUNO_CPF", "own"]


def expiry(days: int = 365) -> str:
    """A Pix Automático expiry: 23:59:59 UTC (§ "23:59:59h (UTC)")."""
    return f"{(business_date() + dt.timedelta(days=days)).isoformat()}T23:59:59Z"


def sweeping_consent(
    *,
    cpf: str = ANA_CPF,
    total: str | None = None,
    transaction: str | None = None,
    periodic: dict[str, Any] | None = None,
    expiration: str | None = None,
) -> dict[str, Any]:
    sweeping: dict[str, Any] = {}
    if total is not None:
        sweeping["totalAllowedAmount"] = total
    if transaction is not None:
        sweeping["transactionLimit"] = transaction
    if periodic is not None:
        sweeping["periodicLimits"] = periodic
    data: dict[str, Any] = {
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "creditors": [{"personType": "PESSOA_NATURAL", "cpfCnpj": cpf, "name": "Ana Souza"}],
        "recurringConfiguration": {"sweeping": sweeping},
    }
    if expiration is not None:
        data["expirationDateTime"] = expiration
    return data


def automatic_consent(
    *,
    cpf: str = ANA_CPF,
    fixed: str | None = None,
    maximum: str | None = "500.00",
    minimum: str | None = None,
    interval: str = "MENSAL",
    retry: bool = True,
    reference_start: dt.date | None = None,
    first_payment: dict[str, Any] | None = None,
    expiration: str | None = None,
) -> dict[str, Any]:
    automatic: dict[str, Any] = {
        "contractId": "CONTRATO123",
        "interval": interval,
        "contractDebtor": {"name": "Ana Souza", "document": {"identification": cpf, "rel": "CPF"}},
        "isRetryAccepted": retry,
        "referenceStartDate": (reference_start or business_date()).isoformat(),
    }
    for name, value in (("fixedAmount", fixed), ("maximumVariableAmount", maximum), ("minimumVariableAmount", minimum)):
        if value is not None:
            automatic[name] = value
    if first_payment is not None:
        automatic["firstPayment"] = first_payment
    return {
        "loggedUser": {"document": {"identification": cpf, "rel": "CPF"}},
        "creditors": [{"personType": "PESSOA_JURIDICA", "cpfCnpj": MERCHANT_CNPJ, "name": MERCHANT_NAME}],
        "recurringConfiguration": {"automatic": automatic},
        "expirationDateTime": expiration or expiry(),
    }


def sweeping_payment(amount: str = "10.00", *, day: dt.date | None = None, **overrides: Any) -> dict[str, Any]:
    day = day or business_date()
    data: dict[str, Any] = {
        "endToEndId": end_to_end_id(day),
        "date": day.isoformat(),
        "payment": {"amount": amount, "currency": "BRL"},
        "creditorAccount": own(ANA_SAVINGS),
        "cnpjInitiator": INITIATOR_CNPJ,
        "localInstrument": "MANU",
        "document": {"identification": ANA_CPF, "rel": "CPF"},
        "riskSignals": RISK_SIGNALS_AUTOMATIC,
    }
    data.update(overrides)
    return data


def week_reference(day: dt.date) -> str:
    iso_year, iso_week, _ = day.isocalendar()
    return f"W{iso_week}-{iso_year}"


def month_reference(day: dt.date) -> str:
    return f"M{day.month:02d}-{day.year}"


def automatic_payment(
    amount: str = "100.00", *, days_ahead: int = 3, day: dt.date | None = None, **overrides: Any
) -> dict[str, Any]:
    day = day or business_date() + dt.timedelta(days=days_ahead)
    data: dict[str, Any] = {
        "endToEndId": end_to_end_id(day),
        "date": day.isoformat(),
        "payment": {"amount": amount, "currency": "BRL"},
        "creditorAccount": dict(MERCHANT_ACCOUNT),
        "cnpjInitiator": INITIATOR_CNPJ,
        "localInstrument": "MANU",
        "document": {"identification": MERCHANT_CNPJ, "rel": "CNPJ"},
        "paymentReference": month_reference(day),
        "remittanceInformation": "Mensalidade",
    }
    data.update(overrides)
    return data


def pass_a_day() -> None:
    """Simulated time: every charge so far moves one day into the past (the limits count them by their date)."""
    for payment in RecurringPayment.objects.all():
        RecurringPayment.objects.filter(pk=payment.pk).update(date=payment.date - dt.timedelta(days=1))
