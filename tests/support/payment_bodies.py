"""Request bodies for payments v4 tests, valid by default, built around the sandbox bank's demo data."""

import copy
import datetime as dt
import secrets
import string
from typing import Any

from django.conf import settings

from connectors.sandbox.demo import DEMO_EVP, OTHER_ISPB
from opusof.timeutil import business_date, business_tz

ANA_CPF = "12345678909"
ANA_ACCOUNT = {"ispb": None, "issuer": "0001", "number": "10000001", "accountType": "CACC"}
ANA_SALARY = {"ispb": None, "issuer": "0001", "number": "10000003", "accountType": "SLRY"}
BRUNO_CPF = "98765432100"
BRUNO_ACCOUNT = {"ispb": None, "issuer": "0001", "number": "20000001", "accountType": "CACC"}
PADARIA_CNPJ = "11222333000181"
MERCHANT_CNPJ = "12345678000195"
MERCHANT_ACCOUNT = {"ispb": OTHER_ISPB, "issuer": "0001", "number": "90000001", "accountType": "CACC"}
INITIATOR_CNPJ = "11222333000181"


def own(account: dict[str, Any]) -> dict[str, Any]:
    return {**account, "ispb": settings.OPUSOF_ISPB}


def consent_data(
    *,
    amount: str = "100.00",
    instrument: str = "MANU",
    proxy: str | None = None,
    qr_code: str | None = None,
    schedule: dict[str, Any] | None = None,
    date: dt.date | None = None,
    debtor: dict[str, Any] | None = None,
    business: str | None = None,
    logged_cpf: str = ANA_CPF,
) -> dict[str, Any]:
    details: dict[str, Any] = {"localInstrument": instrument, "creditorAccount": dict(MERCHANT_ACCOUNT)}
    if proxy is not None:
        details["proxy"] = proxy
    if qr_code is not None:
        details["qrCode"] = qr_code
    payment: dict[str, Any] = {"type": "PIX", "currency": "BRL", "amount": amount, "details": details}
    if schedule is not None:
        payment["schedule"] = schedule
    else:
        payment["date"] = (date or business_date()).isoformat()
    data: dict[str, Any] = {
        "loggedUser": {"document": {"identification": logged_cpf, "rel": "CPF"}},
        "creditor": {"personType": "PESSOA_JURIDICA", "cpfCnpj": MERCHANT_CNPJ, "name": "Loja Exemplo Comercio Ltda"},
        "payment": payment,
    }
    if debtor is not None:
        data["debtorAccount"] = debtor
    if business is not None:
        data["businessEntity"] = {"document": {"identification": business, "rel": "CNPJ"}}
    return data


def end_to_end_id(day: dt.date | None = None, *, hour: int = 12) -> str:
    """E + ISPB + yyyyMMddHHmm (UTC) + 11 alphanumerics; noon in Brasilia by default."""
    moment = dt.datetime.combine(day or business_date(), dt.time(hour, 0), tzinfo=business_tz()).astimezone(dt.UTC)
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return f"E{OTHER_ISPB}{moment:%Y%m%d%H%M}{suffix}"


def payment_item(consent_data_: dict[str, Any], *, day: dt.date | None = None, **overrides: Any) -> dict[str, Any]:
    details = consent_data_["payment"]["details"]
    item: dict[str, Any] = {
        "endToEndId": end_to_end_id(day),
        "localInstrument": details["localInstrument"],
        "payment": {"amount": consent_data_["payment"]["amount"], "currency": "BRL"},
        "creditorAccount": copy.deepcopy(details["creditorAccount"]),
        "cnpjInitiator": INITIATOR_CNPJ,
        "remittanceInformation": "Pagamento de teste",
    }
    for key in ("proxy", "qrCode"):
        if key in details:
            item[key] = details[key]
    item.update(overrides)
    return item


__all__ = ["DEMO_EVP"]
