"""The checks of a charge (POST /pix/recurring-payments, automatic payments v2 §2.5) against its consent, run under
the consent's row lock before anything is recorded or sent to the bank. Each raises the regulated 422 of the first
rule the charge breaks; which version's behaviour a choice follows is in opusof.spec_versions.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from consents.validation import check_account
from opusof import clock
from opusof.errors import ParameterInvalid, ParameterMissing
from opusof.ofb import account_from_wire
from opusof.timeutil import business_tz
from payments.models import PaymentStatus
from recurring import errors
from recurring.limits import Charge, check_limits, earliest_day
from recurring.models import NOT_COUNTED_STATUSES, Product, RecurringConsent
from recurring.validation import names_day, reference_matches

# Pix Automático arrangement rules (not in the yml): a charge is scheduled from 2 to 10 days before its date.
AUTOMATIC_MIN_DAYS_AHEAD = 2
AUTOMATIC_MAX_DAYS_AHEAD = 10
# Retries (Pix arrangement, not in the yml): up to 3 new attempts in the 7 days after the original's date.
MAX_RETRIES = 3
RETRY_WINDOW_DAYS = 7


def check_charge(
    consent: RecurringConsent,
    data: dict[str, Any],
    amount: Decimal,
    *,
    day: dt.date,
    today: dt.date,
    destination_owned: bool,
) -> None:
    """Every rule of a new charge of ``consent``, in the order the spec's validations list them.
    ``destination_owned``: whether a sweeping destination is the receiver's own account, asked of the bank before
    the consent's row lock was taken (recurring.services)."""
    _check_common(consent, data, day=day, today=today)
    if consent.product == Product.AUTOMATIC:
        _check_automatic(consent, data, amount, day=day, today=today)
    else:
        _check_sweeping(consent, data, amount, day=day, today=today, destination_owned=destination_owned)


def _same_account(wire: dict[str, Any], other: dict[str, Any]) -> bool:
    keys = ("ispb", "number", "accountType")
    return all(wire.get(k) == other.get(k) for k in keys) and (wire.get("issuer") or None) == (
        other.get("issuer") or None
    )


def _check_common(consent: RecurringConsent, data: dict[str, Any], *, day: dt.date, today: dt.date) -> None:
    if data.get("recurringConsentId") not in (None, consent.recurring_consent_id):
        raise errors.PaymentDiffersFromConsent("recurringConsentId diverge do consentimento do token.")
    if not names_day(data["endToEndId"], day):
        raise ParameterInvalid("Data do endToEndId diverge da data do pagamento.")
    if data["payment"]["currency"] != "BRL":
        raise errors.PaymentDiffersFromConsent("Moeda diverge do consentimento.")
    if data["document"]["identification"] not in consent.creditor_documents:
        raise errors.PaymentDiffersFromConsent("document do recebedor diverge dos recebedores do consentimento.")
    check_account(data["creditorAccount"], field="creditorAccount")  # issuer for CACC/SVGS (yml line 1093)
    instrument = data["localInstrument"]
    if instrument == "MANU" and data.get("proxy"):
        raise errors.PaymentDetailInvalid("proxy não deve ser informado para MANU.")
    if instrument in ("DICT", "INIC") and not data.get("proxy"):
        # yml line 1181 "Preenchimento condicional de acordo com o conteúdo do campo localInstrument": absent is
        # PARAMETRO_NAO_INFORMADO (§4.2.1.1).
        raise ParameterMissing(f"Parâmetro proxy obrigatório não informado (localInstrument {instrument}).")
    automatic_signals = (data.get("riskSignals") or {}).get("automatic")
    if instrument in ("DICT", "INIC") and automatic_signals and not automatic_signals.get("pixKeyRegistrationDateTime"):
        # yml line 1397: mandatory when localInstrument is DICT or INIC.
        raise ParameterMissing("Parâmetro riskSignals.automatic.pixKeyRegistrationDateTime obrigatório não informado.")
    if instrument != "INIC" and data.get("transactionIdentification"):
        raise errors.PaymentDetailInvalid("transactionIdentification só é permitido para INIC.")
    if day < today:
        raise errors.OutsideAllowedWindow("Data de pagamento no passado.")
    if consent.expires_at is not None and clock.now() > consent.expires_at:
        # The consent "deve deixar de ser válido" at expirationDateTime; payments already scheduled still settle.
        raise errors.OutsideAllowedWindow("Consentimento expirado.")
    if consent.expires_at is not None and day > consent.expires_at.astimezone(business_tz()).date():
        raise errors.OutsideAllowedWindow("Data de liquidação posterior à expiração do consentimento.")


def _check_sweeping(
    consent: RecurringConsent,
    data: dict[str, Any],
    amount: Decimal,
    *,
    day: dt.date,
    today: dt.date,
    destination_owned: bool,
) -> None:
    if "riskSignals" not in data:
        raise ParameterMissing("Parâmetro riskSignals obrigatório não informado (Transferências Inteligentes).")
    if day != today:
        raise errors.OutsideAllowedWindow("Transferências Inteligentes liquidam no mesmo dia.")
    start = consent.settings.get("startDateTime")
    if start and clock.now() < dt.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC):
        # spec_versions "charge-before-start"
        raise errors.PaymentDiffersFromConsent("Pagamento anterior ao início do consentimento (startDateTime).")
    if data.get("originalRecurringPaymentId"):
        raise errors.RetryDetailInvalid("Novas tentativas só se aplicam ao Pix Automático.")
    debtor = consent.debtor_account
    if debtor is not None and account_from_wire(data["creditorAccount"]) == debtor:
        raise errors.PaymentDetailInvalid("Conta de origem igual à conta de destino.")
    if not destination_owned:
        raise errors.PaymentDiffersFromConsent("A conta de destino não pertence ao recebedor do consentimento.")
    counted = consent.payments.exclude(status__in=NOT_COUNTED_STATUSES)
    spent = counted.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    window = counted.filter(date__gte=earliest_day(day)).values_list("date", "amount")
    charges = [Charge(date=payment_date, amount=value) for payment_date, value in window]
    breach = check_limits(consent.settings, charges, amount=amount, day=day, spent_total=spent)
    if breach is not None:
        raise errors.LIMIT_ERRORS[breach.code](breach.detail)


def _check_automatic_amount(consent: RecurringConsent, amount: Decimal, data: dict[str, Any]) -> None:
    block = consent.settings
    reference = data.get("paymentReference")
    if reference == "zero":
        first = block.get("firstPayment")
        if first is None:
            raise errors.PaymentDetailInvalid("paymentReference zero sem firstPayment no consentimento.")
        if not _same_account(data["creditorAccount"], first["creditorAccount"]):
            # spec_versions "first-payment-other-creditor"
            raise errors.PaymentDiffersFromConsent("creditorAccount diverge de firstPayment.creditorAccount.")
        if amount != Decimal(first["amount"]):
            raise errors.InvalidAmount("Valor diverge de firstPayment.amount.")
        if data["date"] != first["date"]:
            raise errors.PaymentDetailInvalid("date diverge de firstPayment.date.")
        return
    fixed = consent.amount_setting("fixedAmount")
    if fixed is not None and amount != fixed:
        raise errors.InvalidAmount(f"Valor deve ser o valor fixo do consentimento ({fixed}).")
    # minimumVariableAmount is no charge floor: "Não representa um valor mínimo de cobrança para o pagamento" (yml line
    # 2589; spec_versions "minimum-variable-amount"). It only bounds the payer's maximumVariableAmount.
    maximum = consent.amount_setting("maximumVariableAmount")
    if maximum is not None and amount > maximum:
        raise errors.TransactionLimitExceeded(f"Valor acima do máximo autorizado pelo usuário ({maximum}).")


def _check_automatic(
    consent: RecurringConsent, data: dict[str, Any], amount: Decimal, *, day: dt.date, today: dt.date
) -> None:
    block = consent.settings
    if data["localInstrument"] != "MANU":
        raise errors.PaymentDetailInvalid("Pix Automático admite apenas localInstrument MANU.")
    reference = data.get("paymentReference")
    if not reference:
        raise errors.PaymentDetailInvalid("paymentReference obrigatório para Pix Automático.")
    if data.get("originalRecurringPaymentId"):
        _check_retry(consent, data, amount, day=day)
        return
    _check_automatic_dates(consent, reference, day=day)
    _check_automatic_amount(consent, amount, data)
    if reference == "zero":
        _check_not_charged(consent, reference)
    else:
        reference_day = dt.date.fromisoformat(block["referenceStartDate"]).day
        if not reference_matches(reference, block["interval"], day, reference_day=reference_day):
            raise errors.PaymentDetailInvalid(f"paymentReference {reference} não corresponde à data {day}.")
        if not AUTOMATIC_MIN_DAYS_AHEAD <= (day - today).days <= AUTOMATIC_MAX_DAYS_AHEAD:
            raise errors.OutsideAllowedWindow(
                f"Cobranças de Pix Automático são agendadas de D+{AUTOMATIC_MIN_DAYS_AHEAD} a "
                f"D+{AUTOMATIC_MAX_DAYS_AHEAD}."
            )
        _check_not_charged(consent, reference)


def _check_automatic_dates(consent: RecurringConsent, reference: str, *, day: dt.date) -> None:
    """A charge of the contract may not fall before it starts: its reference start or, for the charges after the
    adhesion payment, that first payment's date (spec_versions "charge-before-reference-start",
    "charge-before-first-payment")."""
    if reference == "zero":
        return
    block = consent.settings
    if day < dt.date.fromisoformat(block["referenceStartDate"]):
        raise errors.PaymentDiffersFromConsent("Data do pagamento anterior a referenceStartDate do consentimento.")
    first = block.get("firstPayment")
    if first is not None and day < dt.date.fromisoformat(first["date"]):
        raise errors.PaymentDiffersFromConsent("Data do pagamento anterior à de firstPayment do consentimento.")


def _check_not_charged(consent: RecurringConsent, reference: str) -> None:
    """One charge per period (and one adhesion payment): a new attempt of a failed one is a retry instead."""
    duplicate = consent.payments.exclude(status__in=NOT_COUNTED_STATUSES).filter(
        payment_reference=reference, original_recurring_payment_id=""
    )
    if duplicate.exists():
        raise errors.PaymentDetailInvalid(f"Já existe cobrança para o período {reference}.")


def _check_retry(consent: RecurringConsent, data: dict[str, Any], amount: Decimal, *, day: dt.date) -> None:
    """A new attempt of a failed charge (§2.5 "Retries"): same reference, amount, creditor and receiver as the
    original; extra-day attempts only if the customer accepted them (isRetryAccepted)."""
    original = (
        consent.payments.visible()
        .filter(recurring_payment_id=data["originalRecurringPaymentId"], original_recurring_payment_id="")
        .first()
    )
    if original is None:
        raise errors.RetryDetailInvalid("originalRecurringPaymentId não é um pagamento original deste consentimento.")
    if original.status != PaymentStatus.RJCT:
        raise errors.RetryDetailInvalid("O pagamento original não falhou; não cabe nova tentativa.")
    mismatched = [
        name
        for name, same in (
            ("payment.amount", amount == original.amount),
            ("paymentReference", data.get("paymentReference") == original.payment_reference),
            ("document", data["document"]["identification"] == original.document_identification),
            (
                "creditorAccount",
                account_from_wire(data["creditorAccount"]) == original.creditor_account,
            ),
        )
        if not same
    ]
    if mismatched:
        raise errors.RetryDetailInvalid(f"Campos divergem da tentativa original: {', '.join(mismatched)}.")
    retries = consent.payments.visible().filter(original_recurring_payment_id=original.recurring_payment_id)
    if retries.exclude(status__in=[PaymentStatus.RJCT, PaymentStatus.CANC]).exists():
        raise errors.RetryDetailInvalid("Já existe uma nova tentativa em andamento para este pagamento.")
    if retries.count() >= MAX_RETRIES:
        raise errors.RetryLimitExceeded(f"Máximo de {MAX_RETRIES} novas tentativas atingido.")
    if day != original.date:
        if not consent.settings.get("isRetryAccepted"):
            raise errors.RetryDetailInvalid("Consentimento não aceita novas tentativas em dias subsequentes.")
        if not original.date < day <= original.date + dt.timedelta(days=RETRY_WINDOW_DAYS):
            raise errors.OutsideAllowedWindow(
                f"Novas tentativas devem ocorrer até {RETRY_WINDOW_DAYS} dias após a data original."
            )
