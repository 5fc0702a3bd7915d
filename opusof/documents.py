"""Brazilian taxpayer documents: CPF (people, 11 digits) and CNPJ (companies, 14 digits).

The OFB wire format is digits only (``cpfCnpj``, ``document.identification``), so masks, dots and dashes are
refused here rather than stripped: a formatted value on the wire is a PARAMETRO_INVALIDO, not a CPF.
"""

import re

from validate_docbr import CNPJ, CPF

_DIGITS = re.compile(r"[0-9]+")


def is_valid_cpf(value: str) -> bool:
    """True for exactly 11 ASCII digits with correct check digits (repeated digits such as 111… are invalid)."""
    return len(value) == 11 and bool(_DIGITS.fullmatch(value)) and CPF().validate(value)


def is_valid_cnpj(value: str) -> bool:
    """True for exactly 14 ASCII digits with correct check digits.

    validate-docbr also accepts the alphanumeric CNPJ; the OFB schemas still say digits only.
    """
    return len(value) == 14 and bool(_DIGITS.fullmatch(value)) and CNPJ().validate(value)


def mask_document(doc: str) -> str:
    """Display form: a CPF keeps only its middle six digits (``***.456.789-**``), as Brazilian apps show personal
    documents under LGPD; a CNPJ is public registry data and is shown formatted in full."""
    if len(doc) == 11 and _DIGITS.fullmatch(doc):
        return f"***.{doc[3:6]}.{doc[6:9]}-**"
    if len(doc) == 14 and _DIGITS.fullmatch(doc):
        return f"{doc[:2]}.{doc[2:5]}.{doc[5:8]}/{doc[8:12]}-{doc[12:]}"
    return "***"
