"""The Efí dialect's words for the merchant domain: statuses (the documented table in docs/merchant.md), the
recurrence and parcel objects of GET /v1/pagamentos-recorrentes/pix, and the webhook body and its HMAC."""

from typing import Any

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from merchant.dialects import hmac_sha256
from merchant.models import Merchant, Parcel, ParcelStatus, Plan, PlanStatus, Refund, RefundStatus
from opusof.outbox.services import max_attempts
from opusof.timeutil import business_tz, rfc3339

# Recurrence status (Efí ``pagamentos[].status``) by the plan's status.
PLAN_STATUS = {
    PlanStatus.AWAITING_AUTHORISATION: "pendente",
    PlanStatus.ACTIVE: "ativa",
    PlanStatus.FINISHED: "concluida",
    PlanStatus.CANCELLED: "cancelado",
    PlanStatus.REJECTED: "rejeitado",
}

# Parcel status (Efí ``recorrencias[].status``) by the payments v4 status the payer's bank reports.
PARCEL_STATUS = {
    ParcelStatus.CREATED: "pendente",
    ParcelStatus.RCVD: "pendente",
    ParcelStatus.PATC: "pendente",
    ParcelStatus.PDNG: "pendente",
    ParcelStatus.ACCP: "pendente",
    ParcelStatus.ACPD: "pendente",
    ParcelStatus.SCHD: "agendado",
    ParcelStatus.ACSC: "efetivado",
    ParcelStatus.RJCT: "rejeitado",
    ParcelStatus.CANC: "cancelado",
}

# Refund status (Efí ``devolucoes[].status``): "pendente" while the merchant's bank has not answered, "aceito" once
# it returned the money (the seed's words), "rejeitado" when it refused.
REFUND_STATUS = {
    RefundStatus.CREATED: "pendente",
    RefundStatus.PROCESSING: "pendente",
    RefundStatus.REFUNDED: "aceito",
    RefundStatus.REJECTED: "rejeitado",
}

HMAC_HEADER = "x-efi-hmac-sha256"


def refund_summary(refund: Refund) -> dict[str, Any]:
    """A parcel's ``devolucoes[]`` item of GET /v1/pagamentos-recorrentes/pix."""
    return {
        "identificadorDevolucao": refund.refund_id,
        "valor": f"{refund.amount:.2f}",
        "status": REFUND_STATUS[RefundStatus(refund.status)],
        "dataCriacao": rfc3339(refund.created_at),
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    """One item of the 202 answer of POST .../devolver, as the seed writes it (plus identificadorDevolucao, the
    id its webhooks and the parcel's ``devolucoes`` carry)."""
    parcel = refund.parcel
    return {
        "identificadorPagamento": parcel.plan.identifier,
        "endToEndId": parcel.end_to_end_id,
        "identificadorDevolucao": refund.refund_id,
        "valor": f"{refund.amount:.2f}",
        "dataCriacao": refund.created_at.astimezone(business_tz()).strftime("%Y-%m-%d %H:%M:%S"),
        "status": REFUND_STATUS[RefundStatus(refund.status)],
    }


def parcel_json(parcel: Parcel) -> dict[str, Any]:
    return {
        "endToEndId": parcel.end_to_end_id,
        "dataOperacao": parcel.date.isoformat(),
        "valor": f"{parcel.amount:.2f}",
        "status": PARCEL_STATUS[ParcelStatus(parcel.status)],
        "devolucoes": [refund_summary(r) for r in parcel.refunds.all()],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "identificadorPagamento": plan.identifier,
        "valor": f"{plan.amount:.2f}",
        "status": PLAN_STATUS[PlanStatus(plan.status)],
        "dataCriacao": rfc3339(plan.created_at),
        "idProprio": plan.own_id,
        "recorrencias": [parcel_json(p) for p in plan.parcels.all()],
    }


class EfiRenderer:
    def webhook_bodies(self, plan: Plan, parcel: Parcel | None, previous: str) -> list[dict[str, Any]]:
        body = self.webhook_body(plan, parcel, previous)
        return [] if body is None else [body]

    def webhook_body(self, plan: Plan, parcel: Parcel | None, previous: str) -> dict[str, Any] | None:
        if parcel is None and PLAN_STATUS[PlanStatus(previous)] == PLAN_STATUS[PlanStatus(plan.status)]:
            return None
        if parcel is not None and PARCEL_STATUS[ParcelStatus(previous)] == PARCEL_STATUS[ParcelStatus(parcel.status)]:
            return None
        body: dict[str, Any] = {
            "identificadorPagamento": plan.identifier,
            "idProprio": plan.own_id,
            "horario": rfc3339(parcel.status_updated_at if parcel else plan.status_updated_at),
        }
        if parcel is None:
            body.update(tipo="recorrencia", status=PLAN_STATUS[PlanStatus(plan.status)])
        else:
            body.update(tipo="parcela", **parcel_json(parcel))
            del body["devolucoes"]
        return body

    def webhook_mtls(self, merchant: Merchant) -> bool:
        return merchant.webhook_security == "mtls"

    def refund_webhook_body(self, refund: Refund, previous: str) -> dict[str, Any] | None:
        if REFUND_STATUS[RefundStatus(previous)] == REFUND_STATUS[RefundStatus(refund.status)]:
            return None
        plan = refund.parcel.plan
        return {
            "identificadorPagamento": plan.identifier,
            "idProprio": plan.own_id,
            "horario": rfc3339(refund.status_updated_at),
            "tipo": "devolucao",
            "endToEndId": refund.parcel.end_to_end_id,
            "identificadorDevolucao": refund.refund_id,
            "valor": f"{refund.amount:.2f}",
            "status": REFUND_STATUS[RefundStatus(refund.status)],
        }

    def webhook_headers(self, merchant: Merchant, raw: bytes) -> dict[str, str]:
        # webhookSecurity "hmac": the body's HMAC-SHA256 with the merchant's secret (GET/PUT /v1/config); "mtls"
        # relies on the transport (merchant/services/webhooks.py) and sends none.
        if merchant.webhook_security != "hmac":
            return {}
        return {HMAC_HEADER: hmac_sha256(merchant.webhook_secret, raw)}

    def webhook_retry(self, attempt: int) -> float | None:
        # The project's webhook policy (opusof.outbox: attempts, exponential backoff with a ceiling).
        if attempt >= max_attempts():
            return None
        return float(
            get_exponential_backoff_interval(
                factor=settings.OPUSOF_WEBHOOK_RETRY_BASE_SECONDS,
                retries=attempt - 1,
                maximum=settings.OPUSOF_WEBHOOK_RETRY_MAX_SECONDS,
                full_jitter=False,
            )
        )


EFI = EfiRenderer()
