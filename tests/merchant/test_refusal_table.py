"""The holder-refusal translation table (docs/merchant.md, "Holder refusals"; merchant/refusals.py): each OFB code
reaches Efí as ``rejeitado`` with its message and Belvo as ``FAILED`` with its ``failure_code``, never as the code."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from merchant.belvo.render import charge_json
from merchant.efi.render import parcel_json
from merchant.models import Parcel, ParcelStatus
from merchant.refusals import DEFAULT, REFUSALS, refusal, refusal_message

DOC = Path(__file__).resolve().parents[2] / "docs" / "merchant.md"

# The renderers list a parcel's refunds (one query per parcel), so even an unsaved parcel reads the database.
pytestmark = pytest.mark.django_db


def _documented() -> dict[str, tuple[str, str]]:
    """OFB code → (Belvo failure_code, message) as the doc's table rows say."""
    section = DOC.read_text().split("### Holder refusals", 1)[1].split("## Errors", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].startswith("`"):
            continue
        codes = re.findall(r"`([A-Z_]+)`", cells[0])
        if cells[0].startswith("`FALHA_INFRAESTRUTURA`"):
            codes = ["FALHA_INFRAESTRUTURA"] + [f"FALHA_INFRAESTRUTURA{c}" for c in codes[1:]]
        for code in codes:
            rows[code] = (cells[1].strip("`"), cells[2])
    return rows


@pytest.mark.parametrize(("code", "expected"), sorted(REFUSALS.items()))
def test_each_row_in_each_dialect(code, expected):
    parcel = Parcel(
        sequence=1,
        date=dt.date(2030, 1, 2),
        amount=Decimal("9.90"),
        end_to_end_id="E12345678203001021500abcdefghijk",
        status=ParcelStatus.RJCT,
        rejection_reason=f"NAO_MAPEADO, {code}" if code != "NAO_INFORMADO" else code,
    )
    assert parcel_json(parcel)["status"] == "rejeitado"
    charge = charge_json(parcel)
    assert (charge["status"], charge["failure_code"], charge["failure_message"]) == (
        "FAILED",
        expected.belvo_code,
        expected.message,
    )
    assert code not in str(charge) or code in {"REJECTED", "REVOKED"}
    assert refusal_message(f"consentimento {code}") == expected.message


def test_the_documented_table_is_the_code():
    assert _documented() == {code: (r.belvo_code, r.message) for code, r in REFUSALS.items()}


def test_unknown_or_missing_reason_is_the_generic_refusal():
    assert refusal("") == refusal("CODIGO_NOVO") == DEFAULT
    assert DEFAULT.belvo_code == "payment_rejected"
    cancelled = Parcel(sequence=1, date=dt.date(2030, 1, 2), amount=Decimal("1.00"), status=ParcelStatus.CANC)
    assert (parcel_json(cancelled)["status"], charge_json(cancelled)["failure_code"]) == ("cancelado", None)
