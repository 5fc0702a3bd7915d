"""The Belvo dialect's words for the merchant domain: the payment intent and charge state machines (the
documented table in docs/merchant.md), their JSON, and the webhooks (bearer token)."""

import uuid
from typing import Any

from merchant.models import (
    BeneficiaryAccount,
    Customer,
    Merchant,
    Parcel,
    ParcelStatus,
    Plan,
    PlanStatus,
    Recurrence,
    Refund,
    RefundStatus,
)
from merchant.refusals import refusal
from opusof.timeutil import rfc3339

# A single scheduled payment ends SUCCEEDED when paid; a series ends SCHEDULE_FINISHED once every charge is final
# (paid or failed: the merchant lists the charges to see which).
INTENT_STATUS = {
    PlanStatus.AWAITING_AUTHORISATION: "REQUIRES_ACTION",
    PlanStatus.ACTIVE: "SCHEDULED",
    PlanStatus.FINISHED: "SCHEDULE_FINISHED",
    PlanStatus.CANCELLED: "CANCELED",
    PlanStatus.REJECTED: "FAILED",
}

CHARGE_STATUS = {
    ParcelStatus.CREATED: "PENDING",
    ParcelStatus.RCVD: "PENDING",
    ParcelStatus.PATC: "PENDING",
    ParcelStatus.PDNG: "PENDING",
    ParcelStatus.ACCP: "PROCESSING",
    ParcelStatus.ACPD: "PROCESSING",
    ParcelStatus.SCHD: "SCHEDULED",
    ParcelStatus.ACSC: "SUCCEEDED",
    ParcelStatus.RJCT: "FAILED",
    ParcelStatus.CANC: "CANCELED",
}


# Refunds are our extension of the Belvo dialect (docs/merchant.md "Refunds"), in the words of its charges.
REFUND_STATUS = {
    RefundStatus.CREATED: "PENDING",
    RefundStatus.PROCESSING: "PROCESSING",
    RefundStatus.REFUNDED: "SUCCEEDED",
    RefundStatus.REJECTED: "FAILED",
}


def refund_json(refund: Refund) -> dict[str, Any]:
    parcel = refund.parcel
    rejected = refund.status == RefundStatus.REJECTED
    return {
        "id": str(refund.id),
        "created_at": rfc3339(refund.created_at),
        "payment_intent_id": str(parcel.plan_id),
        "charge_id": str(parcel.id),
        "amount": f"{refund.amount:.2f}",
        "currency": "BRL",
        "description": refund.description,
        "status": REFUND_STATUS[RefundStatus(refund.status)],
        "payment_method_information": {
            "open_finance": {"end_to_end_id": parcel.end_to_end_id, "refund_id": refund.refund_id}
        },
        "failure_code": "refund_rejected" if rejected else None,
        "failure_message": refund.rejection_reason or None if rejected else None,
    }


def intent_status(plan: Plan) -> str:
    if not plan.confirmed and plan.status == PlanStatus.AWAITING_AUTHORISATION:
        return "REQUIRES_PAYMENT_METHOD"  # created with ``confirm: false``; completed by PATCH
    if plan.status == PlanStatus.FINISHED and plan.recurrence == Recurrence.SINGLE:
        paid = plan.parcels.filter(status=ParcelStatus.ACSC).exists()
        return "SUCCEEDED" if paid else "FAILED"
    return INTENT_STATUS[PlanStatus(plan.status)]


def charge_json(parcel: Parcel) -> dict[str, Any]:
    return {
        "id": str(parcel.id),
        "created_at": rfc3339(parcel.created_at),
        "amount": f"{parcel.amount:.2f}",
        "currency": "BRL",
        "status": CHARGE_STATUS[ParcelStatus(parcel.status)],
        "payment_method_type": "open_finance",
        "payment_method_information": {
            "open_finance": {"end_to_end_id": parcel.end_to_end_id, "scheduled_date": parcel.date.isoformat()}
        },
        **_failure(parcel.rejection_reason if parcel.status == ParcelStatus.RJCT else None),
    }


def _failure(reasons: str | None) -> dict[str, str | None]:
    """Belvo's ``failure_code``/``failure_message`` of a refusal (merchant/refusals.py); none when not failed."""
    if reasons is None:
        return {"failure_code": None, "failure_message": None}
    found = refusal(reasons)
    return {"failure_code": found.belvo_code, "failure_message": found.message}


def transaction_id(parcel: Parcel) -> str:
    """The transaction a paid charge creates (Belvo ``TRANSACTIONS``); derived, so every rendering agrees."""
    return str(uuid.uuid5(parcel.id, "transaction"))


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "created_at": rfc3339(customer.created_at),
        "customer_type": customer.customer_type,
        "identifier": customer.identifier,
        "name": customer.name,
        "email": customer.email or None,
        "phone": customer.phone or None,
        "address": customer.address or None,
        "country": "BRA",
    }


def account_json(account: BeneficiaryAccount) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "created_at": rfc3339(account.created_at),
        "holder": {"name": account.holder_name, "identifier": account.holder_identifier},
        "institution": account.ispb,
        "agency": account.issuer,
        "number": account.number,
        "account_type": account.account_type,
    }


def intent_json(plan: Plan) -> dict[str, Any]:
    creditor = plan.creditor
    return {
        "id": str(plan.id),
        "created_at": rfc3339(plan.created_at),
        "amount": f"{plan.amount:.2f}",
        "currency": "BRL",
        "description": plan.description,
        "external_id": plan.own_id or None,
        "status": intent_status(plan),
        "allowed_payment_method_types": ["open_finance"],
        "customer": str(plan.customer_id) if plan.customer_id else {"identifier": plan.payer_cnpj or plan.payer_cpf},
        "payment_method_details": {
            "open_finance": {
                "payer_institution": plan.authorisation_server_id,
                "callback_url": plan.callback_url,
                "schedule": schedule_json(plan.schedule),
                "beneficiary_bank_account": str(plan.beneficiary_account_id)
                if plan.beneficiary_account_id
                else {
                    "holder": {"name": creditor["name"], "identifier": creditor["document"]},
                    "institution": creditor["ispb"],
                    "agency": creditor["issuer"],
                    "number": creditor["number"],
                    "account_type": creditor["account_type"],
                },
            }
        },
        "payment_method_information": {"open_finance": {"redirect_url": plan.redirect_uri or None}},
        "charges": [charge_json(p) for p in plan.parcels.all()],
    }


WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
OFB_WEEKDAYS = ["SEGUNDA_FEIRA", "TERCA_FEIRA", "QUARTA_FEIRA", "QUINTA_FEIRA", "SEXTA_FEIRA", "SABADO", "DOMINGO"]


def schedule_json(schedule: dict[str, Any]) -> dict[str, Any]:
    (kind, block), *_ = schedule.items()
    if kind == "single":
        return {"single": {"date": block["date"]}}
    if kind == "custom":
        return {"custom": {"dates": block["dates"], "description": block["additionalInformation"]}}
    out: dict[str, Any] = {"start_date": block["startDate"], "occurrences": block["quantity"]}
    if kind == "weekly":
        out["day_of_week"] = WEEKDAYS[OFB_WEEKDAYS.index(block["dayOfWeek"])]
    if kind == "monthly":
        out["day_of_month"] = block["dayOfMonth"]
    return {kind: out}


class BelvoRenderer:
    def webhook_bodies(self, plan: Plan, parcel: Parcel | None, previous: str) -> list[dict[str, Any]]:
        """``STATUS_UPDATE`` of the intent or charge whose Belvo status changed; a charge paid also creates its
        transaction (``TRANSACTIONS`` ``OBJECT_CREATED``: the scheduled Pix settled)."""
        if parcel is None:
            old, new = INTENT_STATUS[PlanStatus(previous)], intent_status(plan)
            kind, object_id = "PAYMENT_INTENTS", str(plan.id)
            last = plan.history.order_by("created_at", "id").last()
            reasons = (last.reason if last else "") if new == "FAILED" else None
        else:
            old, new = CHARGE_STATUS[ParcelStatus(previous)], CHARGE_STATUS[ParcelStatus(parcel.status)]
            kind, object_id = "CHARGES", str(parcel.id)
            reasons = parcel.rejection_reason if new == "FAILED" else None
        if old == new:
            return []
        data: dict[str, Any] = {"status": new, "previous_status": old, "payment_intent_id": str(plan.id)}
        if reasons is not None:
            data.update(_failure(reasons))
        if parcel is not None:
            data["end_to_end_id"] = parcel.end_to_end_id
        bodies = [
            {
                "webhook_type": kind,
                "webhook_code": "STATUS_UPDATE",
                "object_id": object_id,
                "external_id": (plan.own_id or None) if parcel is None else None,
                "data": data,
            }
        ]
        if parcel is not None and new == "SUCCEEDED":
            bodies.append(
                {
                    "webhook_type": "TRANSACTIONS",
                    "webhook_code": "OBJECT_CREATED",
                    "object_id": transaction_id(parcel),
                    "external_id": None,
                    "data": {
                        "payment_intent_id": str(plan.id),
                        "charge_id": str(parcel.id),
                        "amount": f"{parcel.amount:.2f}",
                        "end_to_end_id": parcel.end_to_end_id,
                    },
                }
            )
        return bodies

    def refund_webhook_body(self, refund: Refund, previous: str) -> dict[str, Any] | None:
        old, new = REFUND_STATUS[RefundStatus(previous)], REFUND_STATUS[RefundStatus(refund.status)]
        if old == new:
            return None
        plan = refund.parcel.plan
        return {
            "webhook_type": "REFUNDS",
            "webhook_code": "STATUS_UPDATE",
            "object_id": str(refund.id),
            "external_id": plan.own_id or None,
            "data": {
                "status": new,
                "previous_status": old,
                "payment_intent_id": str(plan.id),
                "charge_id": str(refund.parcel_id),
                "amount": f"{refund.amount:.2f}",
            },
        }

    def webhook_headers(self, merchant: Merchant, raw: bytes) -> dict[str, str]:
        # Belvo webhooks: the merchant's token as a bearer credential on every call.
        return {"authorization": f"Bearer {merchant.webhook_secret}"}

    def webhook_mtls(self, merchant: Merchant) -> bool:
        return False  # Belvo secures its webhooks with the bearer token only

    def webhook_retry(self, attempt: int) -> float | None:
        # Belvo: a failed delivery is retried 3 times, 60 seconds apart.
        return RETRY_SECONDS if attempt <= RETRIES else None


RETRIES = 3
RETRY_SECONDS = 60.0
BELVO = BelvoRenderer()
