"""The payments v4 bodies a plan sends to the payer's bank through the gateway (consent with its ``schedule``,
the payments of its parcels), the endToEndIds fixed before, and the error codes read back from a refusal."""

import datetime as dt
import secrets
import string
from decimal import Decimal
from typing import Any

from django.conf import settings

from merchant.models import Parcel, Plan
from opusof.timeutil import business_tz


def end_to_end_id(day: dt.date) -> str:
    """payments v4: E + ISPB + yyyyMMddHHmm (UTC) of the planned settlement + 11 alphanumerics; noon in Brasília."""
    moment = dt.datetime.combine(day, dt.time(12, 0), tzinfo=business_tz()).astimezone(dt.UTC)
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return f"E{settings.OPUSOF_ISPB}{moment:%Y%m%d%H%M}{suffix}"


def creditor_account(plan: Plan) -> dict[str, str]:
    beneficiary = plan.creditor
    return {
        "ispb": beneficiary["ispb"],
        "issuer": beneficiary["issuer"],
        "number": beneficiary["number"],
        "accountType": beneficiary["account_type"],
    }


def consent_body(
    plan: Plan, *, amount: Decimal | None = None, schedule: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The plan's consent (its amount and schedule), or another with one parcel's (a replacement)."""
    beneficiary = plan.creditor
    data: dict[str, Any] = {
        "callbackApplicationUri": plan.callback_url,
        "loggedUser": {"document": {"identification": plan.payer_cpf, "rel": "CPF"}},
        "creditor": {
            "personType": "PESSOA_NATURAL" if len(beneficiary["document"]) == 11 else "PESSOA_JURIDICA",
            "cpfCnpj": beneficiary["document"],
            "name": beneficiary["name"],
        },
        "payment": {
            "type": "PIX",
            "currency": "BRL",
            "amount": f"{amount if amount is not None else plan.amount:.2f}",
            "schedule": schedule or plan.schedule,
            "details": {"localInstrument": "MANU", "creditorAccount": creditor_account(plan)},
        },
    }
    if plan.payer_cnpj:
        data["businessEntity"] = {"document": {"identification": plan.payer_cnpj, "rel": "CNPJ"}}
    if plan.ibge_town_code:
        data["payment"]["ibgeTownCode"] = plan.ibge_town_code
    return {"data": data}


def payment_items(plan: Plan, parcels: list[Parcel]) -> list[dict[str, Any]]:
    items = []
    for parcel in parcels:
        item: dict[str, Any] = {
            "endToEndId": parcel.end_to_end_id,
            "localInstrument": "MANU",
            "payment": {"amount": f"{parcel.amount:.2f}", "currency": "BRL"},
            "creditorAccount": creditor_account(plan),
            "cnpjInitiator": settings.INITIATOR_CNPJ,
        }
        if plan.description:
            item["remittanceInformation"] = plan.description
        if plan.ibge_town_code:
            item["ibgeTownCode"] = plan.ibge_town_code
        items.append(item)
    return items


def error_codes(body: dict[str, Any]) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    listed = errors if isinstance(errors, list) else []
    return ", ".join(str(e.get("code", "")) for e in listed if isinstance(e, dict))[:2048]
