"""Business rules of POST /consents (payments v4 §1.3.2, §1.7, §1.8) on an already schema-valid ``data``.

No customer data and no DICT here: §1.1 forbids both at consent creation.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings

from connectors.sandbox import is_consent_rejection_scenario
from consents.errors import NotInformed, PaymentDateInvalid, PaymentDetailInvalid, PaymentMethodInvalid
from consents.models import LocalInstrument
from consents.schedules import ScheduleError, validate_schedule
from opusof.brcode import BrCode, BrCodeError, parse_brcode
from opusof.documents import is_valid_cnpj, is_valid_cpf
from opusof.errors import ParameterInvalid, ParameterMissing, RegulatedError
from opusof.ofb import MAX_PAYMENT_AMOUNT

# §1.7: a recurring schedule only admits these modalities.
RECURRING_INSTRUMENTS = {LocalInstrument.MANU, LocalInstrument.DICT, LocalInstrument.QRES}
QR_INSTRUMENTS = {LocalInstrument.QRES, LocalInstrument.QRDN}
_SCHEDULE_ERRORS: dict[str, type[RegulatedError]] = {
    "DATA_PAGAMENTO_INVALIDA": PaymentDateInvalid,
    "PARAMETRO_INVALIDO": ParameterInvalid,
}


def check_document(identification: str, rel: str, *, field: str) -> None:
    valid = is_valid_cpf(identification) if rel == "CPF" else rel == "CNPJ" and is_valid_cnpj(identification)
    if not valid:
        raise ParameterInvalid(f"{field}: documento {rel} inválido.")


def check_account(block: dict[str, Any], *, field: str) -> None:
    # issuer (agência) is mandatory for CACC and SVGS accounts (CreditorAccount.issuer description).
    if block["accountType"] in ("CACC", "SVGS") and not block.get("issuer"):
        raise ParameterMissing(f"{field}.issuer é obrigatório para contas {block['accountType']}.")


def check_amount(amount: Decimal, *, field: str) -> None:
    if amount <= 0 or amount > MAX_PAYMENT_AMOUNT:
        raise PaymentDetailInvalid(f"{field}: valor deve ser maior que zero e até {MAX_PAYMENT_AMOUNT}.")


def check_required_by_instrument(instrument: str, *, proxy: str | None, qr_code: str | None, field: str) -> None:
    """The fields a modality makes mandatory (§1.7; the ``proxy`` and ``qrCode`` "[Restrição] Preenchimento
    condicional de acordo com o conteúdo do campo localInstrument"). Absent is PARAMETRO_NAO_INFORMADO (§1.3.1.1,
    §2.3.1.1), not DETALHE_PAGAMENTO_INVALIDO, which is for a value sent that breaks a rule (§1.3.2.3)."""
    if instrument != LocalInstrument.MANU and not proxy:
        raise ParameterMissing(f"Parâmetro {field}proxy obrigatório não informado (localInstrument {instrument}).")
    if instrument in QR_INSTRUMENTS and not qr_code:
        raise ParameterMissing(f"Parâmetro {field}qrCode obrigatório não informado (localInstrument {instrument}).")


def check_instrument(
    instrument: str,
    *,
    proxy: str | None,
    qr_code: str | None,
    amount: Decimal,
    error: type[RegulatedError],
    field: str = "",
) -> BrCode | None:
    """§1.7's table: which of proxy/qrCode each modality takes, and the QR's own amount and key."""
    check_required_by_instrument(instrument, proxy=proxy, qr_code=qr_code, field=field)
    if instrument == LocalInstrument.MANU and (proxy or qr_code):
        raise error("localInstrument MANU não admite proxy nem qrCode.")
    if instrument not in QR_INSTRUMENTS:
        if qr_code:
            raise error(f"localInstrument {instrument} não admite qrCode.")
        return None
    assert qr_code is not None  # check_required_by_instrument
    try:
        brcode = parse_brcode(qr_code)
    except BrCodeError as exc:
        raise error(f"qrCode inválido: {exc}") from exc
    if instrument == LocalInstrument.QRES:
        if brcode.is_dynamic:
            raise error("localInstrument QRES exige um QR Code estático.")
        if brcode.amount is not None and brcode.amount != amount:
            raise error("Valor do pagamento diverge do valor do QR Code.")
        if brcode.key != proxy:
            raise error("proxy diverge da chave Pix do QR Code.")
    elif not brcode.is_dynamic:
        raise error("localInstrument QRDN exige um QR Code dinâmico.")
    return brcode


def validate_consent_request(data: dict[str, Any], *, today: dt.date) -> list[dt.date]:
    """Raises the regulated error for the first broken rule; returns the scheduled dates (empty if immediate)."""
    logged = data["loggedUser"]["document"]
    check_document(logged["identification"], logged["rel"], field="loggedUser.document")
    if business := data.get("businessEntity"):
        doc = business["document"]
        check_document(doc["identification"], doc["rel"], field="businessEntity.document")
    creditor = data["creditor"]
    expected_rel = "CPF" if creditor["personType"] == "PESSOA_NATURAL" else "CNPJ"
    check_document(creditor["cpfCnpj"], expected_rel, field="creditor.cpfCnpj")

    payment = data["payment"]
    if payment["currency"] != "BRL":
        raise ParameterInvalid("payment.currency: somente BRL é aceito.")
    amount = Decimal(payment["amount"])
    check_amount(amount, field="payment.amount")
    details = payment["details"]
    check_account(details["creditorAccount"], field="payment.details.creditorAccount")
    if debtor := data.get("debtorAccount"):
        check_account(debtor, field="debtorAccount")

    instrument = details["localInstrument"]
    schedule = payment.get("schedule")
    if schedule is not None and payment.get("date") is not None:
        raise ParameterInvalid("payment.date e payment.schedule são mutuamente exclusivos.")
    if schedule is None and payment.get("date") is None:
        raise ParameterMissing("payment.date ou payment.schedule deve ser informado.")
    if schedule is not None and "single" not in schedule and instrument not in RECURRING_INSTRUMENTS:
        raise PaymentMethodInvalid(
            f"Forma de pagamento não suportada em agendamento recorrente (localInstrument - {instrument})."
        )
    check_instrument(
        instrument,
        proxy=details.get("proxy"),
        qr_code=details.get("qrCode"),
        amount=amount,
        error=PaymentDetailInvalid,
        field="payment.details.",
    )
    if settings.OPUSOF_SANDBOX_SCENARIOS and is_consent_rejection_scenario(amount):
        raise NotInformed("Cenário de teste da sandbox: consentimento recusado.")

    if schedule is None:
        # v4: payment.date is an immediate payment, so it must be today in Brasilia; scheduling uses schedule.single.
        if dt.date.fromisoformat(payment["date"]) != today:
            raise PaymentDateInvalid("payment.date deve ser a data corrente; para agendar use payment.schedule.single.")
        return []
    try:
        return validate_schedule(schedule, today=today)
    except ScheduleError as exc:
        raise _SCHEDULE_ERRORS[exc.code](exc.detail) from exc
