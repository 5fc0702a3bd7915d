"""The Efí dialect's words for the merchant domain: statuses (the documented table in docs/merchant.md), the
recurrence and parcel objects of GET /v1/pagamentos-recorrentes/pix, and the webhook body and its HMAC."""

from typing import Any

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from merchant.dialects import hmac_sha256
from merchant.models import Merchant, Parcel, ParcelStatus, Plan, PlanStatus
from opusof.outbox.services import max_attempts
from opusof.timeutil import rfc3339

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

HMAC_HEADER = "x-efi-hmac-sha256"


def parcel_json(parcel: Parcel) -> dict[str, Any]:
    return {
        "endToEndId": parcel.end_to_end_id,
        "dataOperacao": parcel.date.isoformat(),
        "valor": f"{parcel.amount:.2f}",
        "status": PARCEL_STATUS[ParcelStatus(parcel.status)],
        "devolucoes": [],
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
