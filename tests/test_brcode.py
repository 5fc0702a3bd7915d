import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opusof.brcode import BrCodeError, build_dynamic, build_static, crc16, parse_brcode

# The static example printed in the BCB "Manual de Padrões para Iniciação do Pix" (EVP key, no amount).
BCB_MANUAL_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)


def test_crc_is_ccitt_false():
    assert crc16("123456789") == "29B1"  # the catalogued check value of CRC-16/CCITT-FALSE


def test_parses_the_bcb_manual_example():
    code = parse_brcode(BCB_MANUAL_EXAMPLE)
    assert code.key == "123e4567-e12b-12d1-a456-426655440000"
    assert code.amount is None
    assert code.merchant_name == "Fulano de Tal"
    assert code.city == "BRASILIA"
    assert code.txid == "***"
    assert code.crc == "1D3D"
    assert code.currency == "986"
    assert code.country == "BR"
    assert code.merchant_category_code == "0000"
    assert code.point_of_initiation_method is None
    assert code.is_dynamic is False


def test_parses_uppercase_gui_with_amount():
    # Many issuers print the GUI in uppercase; the manual's GUI comparison is case-insensitive.
    body = "00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.665802BR5907EMPRESA6008BRASILIA"
    body += "62070503***6304"
    code = parse_brcode(body + crc16(body))
    assert code.key == "+5511943214321"
    assert code.amount == Decimal("66.66")


def test_build_static_reproduces_the_manual_example_fields():
    payload = build_static("123e4567-e12b-12d1-a456-426655440000", None, "Fulano de Tal", "BRASILIA")
    code = parse_brcode(payload)
    assert code.point_of_initiation_method == "11"
    assert (code.key, code.merchant_name, code.city, code.txid) == (
        "123e4567-e12b-12d1-a456-426655440000",
        "Fulano de Tal",
        "BRASILIA",
        "***",
    )


def test_build_dynamic():
    payload = build_dynamic("pix.example.com/qr/v2/9d36b84f", "LOJA EXEMPLO", "SAO PAULO")
    code = parse_brcode(payload)
    assert code.is_dynamic is True
    assert code.url == "pix.example.com/qr/v2/9d36b84f"
    assert code.key is None
    assert code.point_of_initiation_method == "12"
    assert code.txid == "***"
    assert code.amount is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (BCB_MANUAL_EXAMPLE[:-4] + "1D3E", "CRC"),
        (BCB_MANUAL_EXAMPLE[:-4] + "1d3d", "CRC"),  # same value in lowercase: not what the payload printed
        (BCB_MANUAL_EXAMPLE[:-8], "6304"),
        ("", "6304"),
    ],
)
def test_rejects_bad_crc(payload, message):
    with pytest.raises(BrCodeError, match=message):
        parse_brcode(payload)


def _with_crc(body: str) -> str:
    body += "6304"
    return body + crc16(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("000201" + "26580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000" + "5303986", "52"),
        ("000201" + "26180014br.gov.bcb.pix" + "52040000530398658", "length"),
        ("000202" + "26180014br.gov.bcb.pix", "format indicator"),
        (
            "000201" + "26580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
            "52040000530398654040.005802BR5901X6001Y62070503***",
            "amount",
        ),
        (
            "000201" + "26580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
            "5204000053038405802BR5901X6001Y62070503***",
            "986",
        ),
        (
            "000201" + "26580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
            "520400005303986" + "5802BR5901X6001Y",
            "62",
        ),
        ("000201" + "26180014br.gov.bcb.pix" + "520400005303986" + "5802BR5901X6001Y62070503***", "exactly one"),
        ("000201" + "26180014br.gov.bcb.com" + "520400005303986" + "5802BR5901X6001Y62070503***", "GUI"),
        ("00990126580014br.gov.bcb.pix", "length"),
        ("000201" + "010213" + "26180014br.gov.bcb.pix", "initiation"),
    ],
)
def test_rejects_missing_or_invalid_fields(body, message):
    with pytest.raises(BrCodeError, match=message):
        parse_brcode(_with_crc(body))


def test_builders_refuse_what_the_manual_forbids():
    with pytest.raises(BrCodeError):
        build_static("k", None, "N" * 26, "CITY")
    with pytest.raises(BrCodeError):
        build_static("k", Decimal("1.005"), "N", "CITY")
    with pytest.raises(BrCodeError):
        build_static("k", Decimal("0"), "N", "CITY")
    with pytest.raises(BrCodeError):
        build_static("k", None, "N", "CITY", txid="not-alnum")
    with pytest.raises(BrCodeError):
        build_dynamic("https://pix.example.com/qr", "N", "CITY")


_digits = string.digits
_keys = st.one_of(
    st.text(_digits, min_size=11, max_size=11),  # CPF
    st.text(_digits, min_size=14, max_size=14),  # CNPJ
    st.text(_digits, min_size=10, max_size=11).map(lambda d: f"+55{d}"),  # phone
    st.emails().filter(lambda e: len(e) <= 40),
    st.uuids().map(str),  # EVP
)
_amounts = st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2))
_ascii = string.ascii_letters + string.digits + " .-&"
_names = st.text(_ascii + "ÃÉÇãéç", min_size=1, max_size=25)
_cities = st.text(_ascii, min_size=1, max_size=15)
_txids = st.one_of(st.just("***"), st.text(string.ascii_letters + _digits, min_size=1, max_size=25))
_descriptions = st.one_of(st.none(), st.text(_ascii, min_size=1, max_size=20))


@given(key=_keys, amount=_amounts, name=_names, city=_cities, txid=_txids, description=_descriptions)
def test_static_round_trip(key, amount, name, city, txid, description):
    code = parse_brcode(build_static(key, amount, name, city, txid=txid, description=description))
    assert (code.key, code.amount, code.merchant_name, code.city, code.txid, code.description) == (
        key,
        amount,
        name,
        city,
        txid,
        description,
    )
    assert code.is_dynamic is False


@given(
    # 55: the merchant account template (id 26) holds at most 99 characters: GUI (18) + url field header (4) + the
    # 22-character prefix below leave 55 for the path; longer is rightly a BrCodeError.
    path=st.text(string.ascii_lowercase + _digits + "-", min_size=1, max_size=55),
    name=_names,
    city=_cities,
    amount=_amounts,
)
def test_dynamic_round_trip(path, name, city, amount):
    url = f"pix.example.com/qr/v2/{path}"
    code = parse_brcode(build_dynamic(url, name, city, amount))
    assert (code.url, code.merchant_name, code.city, code.amount, code.txid) == (url, name, city, amount, "***")
    assert code.is_dynamic is True


@st.composite
def _tampered(draw):
    key = draw(_keys)
    payload = build_static(key, draw(_amounts), draw(_cities), draw(_cities), txid=draw(_txids))
    index = draw(st.integers(min_value=0, max_value=len(payload) - 1))
    replacement = draw(st.sampled_from(string.printable[:95]).filter(lambda c: c != payload[index]))
    return payload[:index] + replacement + payload[index + 1 :]


@given(_tampered())
def test_any_single_character_change_is_detected(payload):
    # For ASCII payloads a one-character change is a burst of at most 8 bits, which CRC16 always catches;
    # a change inside the CRC itself is caught by the exact comparison.
    with pytest.raises(BrCodeError):
        parse_brcode(payload)
