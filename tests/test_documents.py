import pytest
from validate_docbr import CNPJ, CPF

from opusof.documents import is_valid_cnpj, is_valid_cpf, mask_document


@pytest.mark.parametrize("value", ["12345678909", "98765432100", "52998224725"])
def test_valid_cpf(value):
    assert is_valid_cpf(value) is True


@pytest.mark.parametrize(
    "value",
    [
        "12345678900",  # wrong check digits
        "11111111111",  # repeated digits pass the arithmetic but are not issued
        "123.456.789-09",  # masked: not the wire format
        "2345678909",  # 10 digits: the library would left-pad it
        "123456789091",
        "1234567890a",
        "١٢٣٤٥٦٧٨٩٠٩",  # Arabic-Indic digits satisfy str.isdigit
        "",
    ],
)
def test_invalid_cpf(value):
    assert is_valid_cpf(value) is False


@pytest.mark.parametrize("value", ["11222333000181", "45059493000173"])
def test_valid_cnpj(value):
    assert is_valid_cnpj(value) is True


@pytest.mark.parametrize(
    "value",
    ["11222333000182", "00000000000000", "11.222.333/0001-81", "1122233300018", "12ABC34501DE35", ""],
)
def test_invalid_cnpj(value):
    assert is_valid_cnpj(value) is False


def test_generated_documents_are_valid():
    for _ in range(50):
        assert is_valid_cpf(CPF().generate())
        assert is_valid_cnpj(CNPJ().generate())


def test_mask_cpf_keeps_middle_digits():
    assert mask_document("12345678909") == "***.456.789-**"


def test_mask_cnpj_is_formatted_in_full():
    assert mask_document("11222333000181") == "11.222.333/0001-81"


def test_mask_unknown_reveals_nothing():
    assert mask_document("123") == "***"
    assert mask_document("abcdefghijk") == "***"
