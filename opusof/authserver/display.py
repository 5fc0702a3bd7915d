"""How the customer pages write money, dates and payment methods (pt-BR)."""

import datetime as dt
from decimal import Decimal

from consents.models import LocalInstrument

INSTRUMENT_LABELS = {
    LocalInstrument.MANU.value: "Pix por dados da conta",
    LocalInstrument.DICT.value: "Pix por chave",
    LocalInstrument.QRDN.value: "Pix por QR Code dinâmico",
    LocalInstrument.QRES.value: "Pix por QR Code estático",
    LocalInstrument.INIC.value: "Pix iniciado pelo recebedor",
}


def brl(amount: Decimal) -> str:
    """``R$ 1.234,56`` (pt-BR)."""
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return f"R$ {whole.replace(',', '.')},{cents}"


def br_date(value: str | dt.date) -> str:
    """``31/12/2026``."""
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")
