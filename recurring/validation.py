"""Business rules of POST /recurring-consents and of a recurring payment against its consent (automatic payments
v2 §2.2 and §2.5; the request bodies already passed the regulator's schema)."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from consents.validation import check_account
from opusof.errors import ParameterInvalid, ParameterMissing
from opusof.timeutil import business_tz
from payments.checks import end_to_end_datetime
from recurring.errors import FeatureNotEnabled, PaymentDateInvalid, PaymentDetailInvalid
from recurring.models import Product

# "precisam obrigatoriamente ter o horário de expiração do consentimento definido para 23:59:59h (UTC)".
AUTOMATIC_EXPIRY_TIME = dt.time(23, 59, 59)
# SPI accepts a settlement up to 12 h away from the endToEndId's timestamp (as payments.checks).
_SPI_TOLERANCE = dt.timedelta(hours=12)
# paymentReference of Pix Automático (CreateRecurringPixPaymentData.paymentReference).
_REFERENCE = re.compile(
    r"^(?:zero|W(?P<week>[1-9]|[1-4]\d|5[0-3])-(?P<wy>\d{4})|M(?P<month>0[1-9]|1[0-2])-(?P<my>\d{4})"
    r"|Q(?P<quarter>[1-4])-(?P<qy>\d{4})|S(?P<semester>[12])-(?P<sy>\d{4})|Y(?P<year>\d{4}))$",
    re.ASCII,
)
_REFERENCE_PREFIX = {"SEMANAL": "W", "MENSAL": "M", "TRIMESTRAL": "Q", "SEMESTRAL": "S", "ANUAL": "Y"}


def product_of(configuration: dict[str, Any]) -> str:
    for product in Product.values:
        if product in configuration:
            return product
    raise ParameterInvalid("recurringConfiguration sem produto.")


def _utc(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def validate_consent_request(data: dict[str, Any], *, now: dt.datetime) -> str:
    """Returns the product; raises the §2.2 422 for the first broken rule."""
    configuration = data["recurringConfiguration"]
    product = product_of(configuration)
    if product == Product.VRP:
        # vrp is in the schema but this holder does not offer it: "produto não suportado" → 422.
        raise FeatureNotEnabled("Produto vrp não habilitado nesta instituição.")
    today = now.astimezone(business_tz()).date()
    expires = _utc(data["expirationDateTime"]) if data.get("expirationDateTime") else None
    if expires is not None and expires <= now:
        raise PaymentDateInvalid("expirationDateTime deve estar no futuro.")
    # issuer "[Restrição] Preenchimento obrigatório para os seguintes tipos de conta: CACC e SVGS" (absent → 422
    # PARAMETRO_NAO_INFORMADO, §1.3.1.1).
    if debtor := data.get("debtorAccount"):
        check_account(debtor, field="debtorAccount")
    if first := (configuration.get(Product.AUTOMATIC) or {}).get("firstPayment"):
        check_account(first["creditorAccount"], field="recurringConfiguration.automatic.firstPayment.creditorAccount")
    creditors = data["creditors"]
    logged_cpf = data["loggedUser"]["document"]["identification"]
    business = (data.get("businessEntity") or {}).get("document", {}).get("identification")
    if product == Product.AUTOMATIC:
        _validate_automatic(configuration["automatic"], creditors, expires=expires, today=today)
    else:
        _validate_sweeping(configuration["sweeping"], creditors, logged_cpf=logged_cpf, business=business, now=now)
        start = configuration["sweeping"].get("startDateTime")
        if start is not None and expires is not None and _utc(start) >= expires:
            raise PaymentDateInvalid("startDateTime deve ser anterior a expirationDateTime.")
    return product


def _validate_automatic(
    block: dict[str, Any], creditors: list[dict[str, Any]], *, expires: dt.datetime | None, today: dt.date
) -> None:
    # "Pix Automático: exatamente 1 item, pessoa jurídica (CNPJ)".
    if len(creditors) != 1 or creditors[0]["personType"] != "PESSOA_JURIDICA" or len(creditors[0]["cpfCnpj"]) != 14:
        raise PaymentDetailInvalid("Pix Automático exige exatamente um recebedor pessoa jurídica (CNPJ).")
    if expires is not None and expires.time() != AUTOMATIC_EXPIRY_TIME:
        raise PaymentDetailInvalid("expirationDateTime de Pix Automático deve ser às 23:59:59 (UTC).")
    fixed, maximum, minimum = (
        Decimal(block[name]) if name in block else None
        for name in ("fixedAmount", "maximumVariableAmount", "minimumVariableAmount")
    )
    if fixed is not None and (maximum is not None or minimum is not None):
        raise PaymentDetailInvalid("fixedAmount não pode ser enviado com maximumVariableAmount/minimumVariableAmount.")
    if maximum is not None and minimum is not None and maximum < minimum:
        raise PaymentDetailInvalid("maximumVariableAmount não pode ser menor que minimumVariableAmount.")
    if any(value is not None and value <= 0 for value in (fixed, maximum, minimum)):
        raise PaymentDetailInvalid("Valores do consentimento devem ser positivos.")
    if dt.date.fromisoformat(block["referenceStartDate"]) < today:
        raise PaymentDateInvalid("referenceStartDate não pode estar no passado.")
    first = block.get("firstPayment")
    if first is not None:
        if dt.date.fromisoformat(first["date"]) < today:
            raise PaymentDateInvalid("firstPayment.date não pode estar no passado.")
        if expires is not None and dt.date.fromisoformat(first["date"]) > expires.date():
            raise PaymentDateInvalid("firstPayment.date posterior à expiração do consentimento.")


def _validate_periodic_limits(block: dict[str, Any]) -> None:
    """PeriodicLimits' Day/Week/Month/Year: "Caso enviado o objeto, ao menos um dos campos (quantityLimit ou
    transactionLimit) devem ser preenchidos" (yml line 2911; spec_versions "empty-periodic-limit")."""
    for period, limit in (block.get("periodicLimits") or {}).items():
        if isinstance(limit, dict) and "quantityLimit" not in limit and "transactionLimit" not in limit:
            raise ParameterMissing(
                f"Parâmetro periodicLimits.{period}.quantityLimit ou transactionLimit obrigatório não informado."
            )


def _validate_sweeping(
    block: dict[str, Any], creditors: list[dict[str, Any]], *, logged_cpf: str, business: str | None, now: dt.datetime
) -> None:
    _validate_periodic_limits(block)
    if business is None:
        # Natural person: exactly one creditor, the logged user themself (own accounts).
        if len(creditors) != 1 or creditors[0]["cpfCnpj"] != logged_cpf:
            raise PaymentDetailInvalid("Transferências Inteligentes: o recebedor deve ser o próprio usuário (CPF).")
    elif any(creditor["cpfCnpj"][:8] != business[:8] for creditor in creditors):
        raise PaymentDetailInvalid("Transferências Inteligentes: recebedores devem ter a mesma raiz de CNPJ.")
    amounts = [block.get("totalAllowedAmount"), block.get("transactionLimit")]
    amounts += [limit.get("transactionLimit") for limit in (block.get("periodicLimits") or {}).values()]
    if any(value is not None and Decimal(value) <= 0 for value in amounts):
        raise PaymentDetailInvalid("Limites do consentimento devem ser positivos.")
    total, per_transaction = block.get("totalAllowedAmount"), block.get("transactionLimit")
    if total is not None and per_transaction is not None and Decimal(per_transaction) > Decimal(total):
        raise PaymentDetailInvalid("transactionLimit não pode ser maior que totalAllowedAmount.")


def names_day(end_to_end_id: str, day: dt.date) -> bool:
    """Whether the endToEndId's timestamp can settle on the Sao Paulo ``day`` (PARAMETRO_INVALIDO when malformed)."""
    stamp = end_to_end_datetime(end_to_end_id)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=business_tz())
    return start - _SPI_TOLERANCE <= stamp < start + dt.timedelta(days=1) + _SPI_TOLERANCE


def reference_matches(reference: str, interval: str, day: dt.date, *, reference_day: int) -> bool:
    """Whether a Pix Automático ``paymentReference`` names the period of the settlement ``day`` for ``interval``.

    The day-29/30/31 rule: when the contract's day (``reference_day``, from referenceStartDate) does not exist in a
    month, the charge falls on the next day, the 1st of the following month, and still references the short month.
    """
    if _REFERENCE.match(reference) is None or reference == "zero":
        return False
    if reference[0] != _REFERENCE_PREFIX[interval]:
        return False
    wanted = reference[1:]
    candidates = [day]
    previous = day - dt.timedelta(days=1)
    if day.day == 1 and previous.day < reference_day:
        candidates.append(previous)  # rolled from a month without day 29/30/31
    return any(_period_key(reference[0], when) == wanted for when in candidates)


def _period_key(prefix: str, when: dt.date) -> str:
    """The part after the prefix of the paymentReference naming the period of ``when``."""
    if prefix == "W":
        iso_year, iso_week, _ = when.isocalendar()
        return f"{iso_week}-{iso_year}"
    if prefix == "M":
        return f"{when.month:02d}-{when.year}"
    if prefix == "Q":
        return f"{(when.month - 1) // 3 + 1}-{when.year}"
    if prefix == "S":
        return f"{(when.month - 1) // 6 + 1}-{when.year}"
    return str(when.year)
