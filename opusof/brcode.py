"""Pix BR Code: the EMV QRCPS merchant-presented payload ("Pix Copia e Cola").

Rules from the BCB "Manual de Padrões para Iniciação do Pix": top-level TLV objects (two-digit id, two-digit
length, value); ``00`` comes first and ``63`` (CRC16/CCITT-FALSE over everything up to and including ``6304``,
four uppercase hex digits) last; the Pix merchant account template (any id 26-51) carries the GUI
``br.gov.bcb.pix`` plus either the key (``01``, static) or the location URL without scheme (``25``, dynamic);
``62``/``05`` is the txid — ``***`` when the static code has none, and always ``***`` in a dynamic code, whose
real txid is in the payload served at the URL.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

import crc

PIX_GUI = "br.gov.bcb.pix"
STATIC = "11"
DYNAMIC = "12"
NO_TXID = "***"
_CRC_CONFIG = crc.Crc16.IBM_3740.value  # CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection
_CRC_TAG = "6304"
_AMOUNT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")
_HEX4 = re.compile(r"[0-9A-F]{4}")
_STATIC_TXID = re.compile(r"[A-Za-z0-9]{1,25}")


class BrCodeError(ValueError):
    """The payload is not a valid Pix BR Code (malformed TLV, bad CRC, missing or invalid field)."""


@dataclass(frozen=True)
class BrCode:
    payload_format_indicator: str
    point_of_initiation_method: str | None  # "11" reusable, "12" single use; optional in the manual
    key: str | None
    description: str | None
    url: str | None
    merchant_category_code: str
    currency: str
    amount: Decimal | None
    country: str
    merchant_name: str
    city: str
    txid: str
    crc: str

    @property
    def is_dynamic(self) -> bool:
        """A dynamic code points at a location URL instead of carrying the key."""
        return self.url is not None


def crc16(data: str) -> str:
    """CRC16 of ``data`` (UTF-8) as the four uppercase hex digits field 63 carries."""
    # A Calculator keeps its register between calls, so a shared one would race across threads.
    return f"{crc.Calculator(_CRC_CONFIG).checksum(data.encode()):04X}"


def _tlv(tag: str, value: str) -> str:
    if not 0 < len(value) <= 99:
        raise BrCodeError(f"field {tag}: length {len(value)} outside 1..99")
    return f"{tag}{len(value):02d}{value}"


def _parse_tlv(data: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    position = 0
    while position < len(data):
        header = data[position : position + 4]
        if len(header) < 4 or not header.isascii() or not header.isdigit():
            raise BrCodeError(f"{where}: malformed TLV header at position {position}")
        tag, length = header[:2], int(header[2:])
        value = data[position + 4 : position + 4 + length]
        if length == 0 or len(value) != length:
            raise BrCodeError(f"{where}: field {tag} declares length {length}, has {len(value)}")
        if tag in fields:
            raise BrCodeError(f"{where}: field {tag} repeated")
        fields[tag] = value
        position += 4 + length
    return fields


def _required(fields: dict[str, str], tag: str, name: str) -> str:
    if tag not in fields:
        raise BrCodeError(f"missing mandatory field {tag} ({name})")
    return fields[tag]


def parse_brcode(payload: str) -> BrCode:
    """Parses and verifies a BR Code. Raises BrCodeError on malformed TLV, bad CRC or a missing mandatory field."""
    if len(payload) < 8 or payload[-8:-4] != _CRC_TAG:
        raise BrCodeError("payload must end with the CRC field 6304XXXX")
    declared = payload[-4:]
    # The CRC is compared as printed (uppercase hex): "1d3d" for "1D3D" is a changed payload, not the same one.
    if not _HEX4.fullmatch(declared) or crc16(payload[:-4]) != declared:
        raise BrCodeError("CRC mismatch")
    fields = _parse_tlv(payload, "payload")
    tags = list(fields)
    if tags[0] != "00" or tags[-1] != "63":
        raise BrCodeError("field 00 must come first and 63 last")
    if _required(fields, "00", "payload format indicator") != "01":
        raise BrCodeError("payload format indicator must be 01")
    initiation = fields.get("01")
    if initiation not in (None, STATIC, DYNAMIC):
        raise BrCodeError("point of initiation method must be 11 or 12")

    account: dict[str, str] | None = None
    for tag in tags:
        if "26" <= tag <= "51":
            template = _parse_tlv(fields[tag], f"field {tag}")
            if template.get("00", "").lower() == PIX_GUI:
                account = template
                break
    if account is None:
        raise BrCodeError(f"missing merchant account information with GUI {PIX_GUI}")
    key, url = account.get("01"), account.get("25")
    if (key is None) == (url is None):
        raise BrCodeError("merchant account information needs exactly one of key (01) or url (25)")

    mcc = _required(fields, "52", "merchant category code")
    if len(mcc) != 4 or not mcc.isdigit():
        raise BrCodeError("merchant category code must be 4 digits")
    if _required(fields, "53", "transaction currency") != "986":
        raise BrCodeError("transaction currency must be 986 (BRL)")
    amount: Decimal | None = None
    if "54" in fields:
        if not _AMOUNT.fullmatch(fields["54"]) or Decimal(fields["54"]) <= 0:
            raise BrCodeError("transaction amount must be a positive decimal such as 10.00")
        amount = Decimal(fields["54"])
    if _required(fields, "58", "country code") != "BR":
        raise BrCodeError("country code must be BR")
    name = _required(fields, "59", "merchant name")
    city = _required(fields, "60", "merchant city")
    if len(name) > 25 or len(city) > 15:
        raise BrCodeError("merchant name is at most 25 characters and city at most 15")
    additional = _parse_tlv(_required(fields, "62", "additional data field template"), "field 62")
    return BrCode(
        payload_format_indicator=fields["00"],
        point_of_initiation_method=initiation,
        key=key,
        description=account.get("02"),
        url=url,
        merchant_category_code=mcc,
        currency=fields["53"],
        amount=amount,
        country=fields["58"],
        merchant_name=name,
        city=city,
        txid=_required(additional, "05", "txid (reference label)"),
        crc=declared,
    )


def _assemble(
    *, initiation: str, account: str, amount: Decimal | None, merchant_name: str, city: str, txid: str
) -> str:
    if not 0 < len(merchant_name) <= 25 or not 0 < len(city) <= 15:
        raise BrCodeError("merchant name must have 1..25 characters and city 1..15")
    parts = [_tlv("00", "01"), _tlv("01", initiation), _tlv("26", account), _tlv("52", "0000"), _tlv("53", "986")]
    if amount is not None:
        text = f"{amount:.2f}"
        if amount <= 0 or amount != Decimal(text) or not _AMOUNT.fullmatch(text):
            raise BrCodeError(f"amount {amount} must be positive, with at most 2 decimals and 10 integer digits")
        parts.append(_tlv("54", text))
    parts += [_tlv("58", "BR"), _tlv("59", merchant_name), _tlv("60", city), _tlv("62", _tlv("05", txid))]
    body = "".join(parts) + _CRC_TAG
    return body + crc16(body)


def build_static(
    key: str,
    amount: Decimal | None,
    merchant_name: str,
    city: str,
    txid: str = NO_TXID,
    description: str | None = None,
) -> str:
    """A reusable static BR Code for a Pix key; ``amount`` None lets the payer type it."""
    if txid != NO_TXID and not _STATIC_TXID.fullmatch(txid):
        raise BrCodeError("a static txid has 1..25 letters or digits, or is ***")
    account = _tlv("00", PIX_GUI) + _tlv("01", key) + (_tlv("02", description) if description else "")
    return _assemble(
        initiation=STATIC, account=account, amount=amount, merchant_name=merchant_name, city=city, txid=txid
    )


def build_dynamic(url: str, merchant_name: str, city: str, amount: Decimal | None = None) -> str:
    """A single-use dynamic BR Code pointing at ``url`` (no scheme), where the charge itself is served.

    The manual leaves the amount and the txid to that payload, so ``amount`` is normally None and txid is ``***``.
    """
    if "://" in url:
        raise BrCodeError("the location URL is written without scheme")
    account = _tlv("00", PIX_GUI) + _tlv("25", url)
    return _assemble(
        initiation=DYNAMIC, account=account, amount=amount, merchant_name=merchant_name, city=city, txid=NO_TXID
    )
