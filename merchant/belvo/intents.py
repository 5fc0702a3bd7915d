"""What a Belvo payment intent's body names, resolved into the domain: the registered customer and beneficiary
account it names by id (or the inline ones, registered once the whole body is valid), and the completion of an
intent created with ``confirm: false`` (PATCH)."""

import dataclasses
from typing import Any

from merchant import schedules
from merchant.belvo import parse
from merchant.errors import InvalidRequest
from merchant.models import BeneficiaryAccount, Customer, Merchant, Plan
from merchant.services.plans import PlanRequest, participant_check
from merchant.services.registry import (
    beneficiary_find,
    beneficiary_register,
    customer_find,
    customer_register,
    plan_complete,
)
from opusof.timeutil import business_date

OPEN_FINANCE = "payment_method_details.open_finance"


def _named(merchant: Merchant, body: Any) -> tuple[Customer | None, BeneficiaryAccount | None]:
    """The registered customer and account an intent names by id (unknown ids are the merchant's error)."""
    if not isinstance(body, dict):
        return None, None
    customer = account = None
    if isinstance(body.get("customer"), str):
        customer = customer_find(merchant=merchant, customer_id=body["customer"])
        if customer is None:
            raise InvalidRequest("Unknown customer.", field="customer")
    details = body.get("payment_method_details")
    open_finance = details.get("open_finance") if isinstance(details, dict) else None
    named = open_finance.get("beneficiary_bank_account") if isinstance(open_finance, dict) else None
    if isinstance(named, str):
        account = beneficiary_find(merchant=merchant, account_id=named)
        if account is None:
            raise InvalidRequest("Unknown beneficiary bank account.", field=f"{OPEN_FINANCE}.beneficiary_bank_account")
    return customer, account


def intent_request(merchant: Merchant, body: Any) -> PlanRequest:
    """The intent as a PlanRequest; inline customer and account are registered only once the whole body is valid
    (nothing half-written stays on a refusal)."""
    customer, account = _named(merchant, body)
    request = parse.plan_request(body, customer=customer, account=account)
    schedules.check_bounds(
        schedules.build(
            request.recurrence,
            start=request.start,
            quantity=request.quantity,
            dates=request.dates,
            info=request.description,
        ),
        today=business_date(),
    )
    participant_check(request.authorisation_server_id, field=f"{OPEN_FINANCE}.payer_institution")
    if customer is None:
        customer, _ = customer_register(merchant=merchant, **parse.customer_fields(body["customer"], "customer"))
    if account is None:
        account, _ = beneficiary_register(merchant=merchant, beneficiary=request.beneficiary)
    return dataclasses.replace(request, customer_id=customer.id, beneficiary_account_id=account.id)


def intent_completion(plan: Plan, body: Any) -> Plan:
    """PATCH: ``payment_method_details.open_finance.{payer_institution, beneficiary_bank_account (id)}`` and
    ``confirm``."""
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    details = body.get("payment_method_details", {})
    open_finance = details.get("open_finance", {}) if isinstance(details, dict) else None
    if not isinstance(open_finance, dict):
        raise InvalidRequest("open_finance must be an object.", field=OPEN_FINANCE)
    institution = open_finance.get("payer_institution", "")
    if not isinstance(institution, str) or len(institution) > 40:
        raise InvalidRequest("payer_institution must be an institution id.", field=f"{OPEN_FINANCE}.payer_institution")
    _, account = _named(plan.merchant, {"payment_method_details": {"open_finance": open_finance}})
    if "beneficiary_bank_account" in open_finance and account is None:
        raise InvalidRequest(
            "beneficiary_bank_account must be a bank account id.", field=f"{OPEN_FINANCE}.beneficiary_bank_account"
        )
    return plan_complete(
        plan=plan,
        authorisation_server_id=institution,
        account=account,
        confirm=parse.confirm(body, False),
        field=f"{OPEN_FINANCE}.payer_institution",
    )
