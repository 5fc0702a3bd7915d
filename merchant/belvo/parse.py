"""The Belvo bodies read into the domain's terms: the payment intent (POST /payments/br/payment-intents/) into a
PlanRequest, a customer and a beneficiary bank account (given inline in an intent, or registered on their own and
named by id)."""

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from merchant.efi.parse import request_hash
from merchant.errors import InvalidRequest
from merchant.models import BeneficiaryAccount, Customer, Recurrence
from merchant.services.plans import Beneficiary, PlanRequest
from merchant.services.registry import beneficiary_of

WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
ACCOUNT_TYPES = ("CACC", "SVGS", "TRAN", "SLRY")

__all__ = ["beneficiary", "customer_fields", "plan_request", "request_hash"]


def _obj(parent: Any, name: str, path: str) -> dict[str, Any]:
    value = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise InvalidRequest("This field is required and must be an object.", field=path)
    return value


def _str(parent: dict[str, Any], name: str, path: str, pattern: str = r".{1,140}", required: bool = True) -> str:
    value = parent.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise InvalidRequest("This field is required or has an invalid format.", field=path)
    return value


def _date(value: Any, path: str) -> dt.date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidRequest("Dates must be YYYY-MM-DD.", field=path)


def _occurrences(block: dict[str, Any], path: str) -> int:
    value = block.get("occurrences")
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise InvalidRequest("occurrences must be an integer of at least 2.", field=f"{path}.occurrences")
    return value


def _schedule(schedule: dict[str, Any], path: str) -> tuple[str, dt.date | None, int, list[dt.date], str]:
    if len(schedule) != 1 or next(iter(schedule)) not in ("single", "daily", "weekly", "monthly", "custom"):
        raise InvalidRequest("schedule must hold one of single, daily, weekly, monthly, custom.", field=path)
    kind, block = next(iter(schedule.items()))
    if not isinstance(block, dict):
        raise InvalidRequest("The schedule must be an object.", field=f"{path}.{kind}")
    if kind == "single":
        return Recurrence.SINGLE, _date(block.get("date"), f"{path}.single.date"), 1, [], ""
    if kind == "custom":
        dates = block.get("dates")
        if not isinstance(dates, list) or not dates:
            raise InvalidRequest("dates must be a list of YYYY-MM-DD.", field=f"{path}.custom.dates")
        return (
            Recurrence.CUSTOM,
            None,
            len(dates),
            [_date(d, f"{path}.custom.dates") for d in dates],
            (_str(block, "description", f"{path}.custom.description", r".{1,140}")),
        )
    start = _date(block.get("start_date"), f"{path}.{kind}.start_date")
    occurrences = _occurrences(block, f"{path}.{kind}")
    if kind == "weekly" and block.get("day_of_week") != WEEKDAYS[start.weekday()]:
        # Belvo: "start_date must be the same as the first day_of_week".
        raise InvalidRequest("start_date must fall on day_of_week.", field=f"{path}.weekly.day_of_week")
    if kind == "monthly" and block.get("day_of_month") != start.day:
        raise InvalidRequest("start_date must fall on day_of_month.", field=f"{path}.monthly.day_of_month")
    return (
        {"daily": Recurrence.DAILY, "weekly": Recurrence.WEEKLY}.get(kind, Recurrence.MONTHLY),
        start,
        occurrences,
        [],
        "",
    )


def customer_fields(customer: Any, path: str) -> dict[str, str]:
    """A customer (Belvo: ``identifier`` CPF/CNPJ, ``name``, optional ``email``, ``phone``, ``address``)."""
    if not isinstance(customer, dict):
        raise InvalidRequest("This field is required and must be an object or a customer id.", field=path)
    return {
        "identifier": _str(customer, "identifier", f"{path}.identifier", r"[0-9]{11}|[0-9]{14}"),
        "name": _str(customer, "name", f"{path}.name"),
        "email": _str(customer, "email", f"{path}.email", r"[^@\s]{1,64}@[^@\s]{1,189}", required=False),
        "phone": _str(customer, "phone", f"{path}.phone", r"\+?[0-9]{8,15}", required=False),
        "address": _str(customer, "address", f"{path}.address", r".{1,255}", required=False),
    }


def beneficiary(account: Any, path: str) -> Beneficiary:
    """A beneficiary bank account (``holder{name, identifier}``, ``institution`` ISPB, ``agency``, ``number``,
    ``account_type``)."""
    if not isinstance(account, dict):
        raise InvalidRequest("This field is required and must be an object or a bank account id.", field=path)
    holder = _obj(account, "holder", f"{path}.holder")
    return Beneficiary(
        name=_str(holder, "name", f"{path}.holder.name"),
        document=_str(holder, "identifier", f"{path}.holder.identifier", r"[0-9]{11}|[0-9]{14}"),
        ispb=_str(account, "institution", f"{path}.institution", r"[0-9]{8}"),
        issuer=_str(account, "agency", f"{path}.agency", r"[0-9]{1,4}"),
        number=_str(account, "number", f"{path}.number", r"[0-9]{1,20}"),
        account_type=_str(account, "account_type", f"{path}.account_type", r"CACC|SVGS|TRAN|SLRY"),
    )


def confirm(body: dict[str, Any], default: bool) -> bool:
    value = body.get("confirm", default)
    if not isinstance(value, bool):
        raise InvalidRequest("confirm must be true or false.", field="confirm")
    return value


def plan_request(
    body: Any, *, customer: Customer | None = None, account: BeneficiaryAccount | None = None
) -> PlanRequest:
    """``customer`` and ``account``: the registered ones the body named by id (else the body gives them)."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    amount = _str(body, "amount", "amount", r"[0-9]{1,15}\.[0-9]{2}")
    if Decimal(amount) <= 0:
        raise InvalidRequest("amount must be positive.", field="amount")
    if body.get("allowed_payment_method_types") != ["open_finance"]:
        raise InvalidRequest(
            'allowed_payment_method_types must be ["open_finance"].', field="allowed_payment_method_types"
        )
    description = _str(body, "description", "description")
    details = _obj(
        _obj(body, "payment_method_details", "payment_method_details"),
        "open_finance",
        "payment_method_details.open_finance",
    )
    base = "payment_method_details.open_finance"
    kind, start, quantity, dates, info = _schedule(_obj(details, "schedule", f"{base}.schedule"), f"{base}.schedule")
    identifier = customer.identifier if customer else customer_fields(body.get("customer"), "customer")["identifier"]
    acc = f"{base}.beneficiary_bank_account"
    creditor = beneficiary_of(account) if account else beneficiary(details.get("beneficiary_bank_account"), acc)
    payer_cpf = identifier if len(identifier) == 11 else _str(details, "cpf", f"{base}.cpf", r"[0-9]{11}")
    return PlanRequest(
        authorisation_server_id=_str(details, "payer_institution", f"{base}.payer_institution", r".{1,40}"),
        payer_cpf=payer_cpf,
        payer_cnpj=identifier if len(identifier) == 14 else "",
        beneficiary=creditor,
        amount=Decimal(amount),
        recurrence=kind,
        start=start,
        quantity=quantity,
        dates=dates,
        description=info or _str(body, "statement_description", "statement_description", required=False) or description,
        own_id=_str(body, "external_id", "external_id", r".{1,64}", required=False),
        callback_url=_str(details, "callback_url", f"{base}.callback_url", r"https?://.{1,1990}"),
        customer_id=customer.id if customer else None,
        beneficiary_account_id=account.id if account else None,
        confirm=confirm(body, True),
    )
