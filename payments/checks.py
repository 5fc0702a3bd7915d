"""Checks of a POST /pix/payments item against its consent (payments v4 §2.2, §1.6, §1.7)."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from consents.models import LocalInstrument, PaymentConsent
from consents.validation import check_account, check_instrument, check_required_by_instrument
from opusof.errors import ParameterInvalid
from opusof.timeutil import business_tz
from payments.errors import PaymentDetailInvalid, PaymentDiffersFromConsent

_E2E = re.compile(r"^E(?P<ispb>\d{8})(?P<stamp>\d{12})[a-zA-Z0-9]{11}$", re.ASCII)
# SPI accepts a settlement up to 12 h away from the endToEndId's timestamp.
_SPI_TOLERANCE = dt.timedelta(hours=12)


def end_to_end_datetime(end_to_end_id: str) -> dt.datetime:
    """The UTC instant an endToEndId names; an impossible date (e.g. 31 April) is 422 PARAMETRO_INVALIDO."""
    match = _E2E.match(end_to_end_id)
    if not match:
        raise ParameterInvalid("endToEndId fora do formato.")
    try:
        return dt.datetime.strptime(match["stamp"], "%Y%m%d%H%M").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise ParameterInvalid("Data de liquidação inválida") from exc


def _names_day(stamp: dt.datetime, day: dt.date) -> bool:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=business_tz())
    return start - _SPI_TOLERANCE <= stamp < start + dt.timedelta(days=1) + _SPI_TOLERANCE


def _differs(detail: str) -> PaymentDiffersFromConsent:
    return PaymentDiffersFromConsent(detail)


def check_transaction_identification(item: dict[str, Any], brcode_txid: str | None) -> None:
    """§1.7's transactionIdentification column."""
    instrument = item["localInstrument"]
    txid = item.get("transactionIdentification")
    if instrument in (LocalInstrument.MANU, LocalInstrument.DICT) and txid:
        raise PaymentDetailInvalid(f"transactionIdentification não deve ser enviado para {instrument}.")
    if instrument == LocalInstrument.INIC and not (txid and len(txid) <= 25):
        raise PaymentDetailInvalid("transactionIdentification é obrigatório (até 25 caracteres) para INIC.")
    # A dynamic code's txid lives in the payload at its location; the bank checks it (validate_payment_data).
    if instrument == LocalInstrument.QRDN and not (txid and 26 <= len(txid) <= 35):
        raise PaymentDetailInvalid(
            "transactionIdentification deve ser o txid do QR Code dinâmico (26 a 35 caracteres)."
        )
    if instrument == LocalInstrument.QRES:
        expected = brcode_txid if brcode_txid and brcode_txid != "***" else None
        if (txid or None) != expected:
            raise PaymentDetailInvalid("transactionIdentification deve ser o txid do QR Code estático, quando houver.")


def check_items(consent: PaymentConsent, items: list[dict[str, Any]], *, today: dt.date) -> list[dt.date | None]:
    """Returns each item's settlement date (None: immediate). Raises the §2.2 error for the first divergence."""
    expected_dates = [dt.date.fromisoformat(day) for day in consent.scheduled_dates]
    if len(items) != max(1, len(expected_dates)):
        raise _differs(f"Quantidade de pagamentos ({len(items)}) diverge do consentimento.")
    e2e_ids = [item["endToEndId"] for item in items]
    if len(set(e2e_ids)) != len(e2e_ids):
        raise ParameterInvalid("endToEndId repetido na lista de pagamentos.")
    dates: list[dt.date | None] = []
    remaining = list(expected_dates)
    for item in items:
        stamp = end_to_end_datetime(item["endToEndId"])
        if item.get("consentId") and item["consentId"] != consent.consent_id:
            raise _differs("consentId diverge do consentimento do token.")
        if Decimal(item["payment"]["amount"]) != consent.amount or item["payment"]["currency"] != consent.currency:
            raise _differs("Valor do pagamento diverge do consentimento.")
        if item["localInstrument"] != consent.local_instrument:
            raise _differs("localInstrument diverge do consentimento.")
        check_account(item["creditorAccount"], field="creditorAccount")
        creditor = item["creditorAccount"]
        consent_creditor = consent.creditor_account
        if (creditor["ispb"], creditor.get("issuer") or None, creditor["number"], creditor["accountType"]) != (
            consent_creditor.ispb,
            consent_creditor.issuer,
            consent_creditor.number,
            str(consent_creditor.account_type),
        ):
            raise _differs("creditorAccount diverge do consentimento.")
        # Absent before divergent: a missing mandatory field is PARAMETRO_NAO_INFORMADO (§2.3.1.1).
        check_required_by_instrument(
            item["localInstrument"], proxy=item.get("proxy"), qr_code=item.get("qrCode"), field=""
        )
        if (item.get("proxy") or "") != consent.proxy or (item.get("qrCode") or "") != consent.qr_code:
            raise _differs("proxy ou qrCode diverge do consentimento.")
        brcode = check_instrument(
            item["localInstrument"],
            proxy=item.get("proxy"),
            qr_code=item.get("qrCode"),
            amount=consent.amount,
            error=PaymentDetailInvalid,
        )
        check_transaction_identification(item, brcode.txid if brcode else None)
        if not expected_dates:
            if not _names_day(stamp, today):
                raise ParameterInvalid("Data do endToEndId diverge da data do pagamento.")
            dates.append(None)
            continue
        match = next((day for day in remaining if _names_day(stamp, day)), None)
        if match is None:
            raise _differs(f"endToEndId {item['endToEndId']} não corresponde a uma data agendada do consentimento.")
        remaining.remove(match)
        dates.append(match)
    return dates
