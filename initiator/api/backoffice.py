"""Backoffice (en-opusTPP-backoffice.yml): an application's consents and their payments, and its enrollments,
filtered and paged."""

import datetime as dt
import math
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime

from initiator import selectors
from initiator.api.base import endpoint
from initiator.errors import ParameterInvalid
from initiator.models import Application, ConsentStatus, InitiatorConsent, InitiatorEnrollment
from opusof.timeutil import now_rfc3339, rfc3339


def _int(request: HttpRequest, name: str, default: int, *, maximum: int) -> int:
    raw = request.GET.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ParameterInvalid(f"{name} inválido.")
    return int(raw)


def _datetime(request: HttpRequest, name: str) -> dt.datetime | None:
    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ParameterInvalid(f"{name} deve ser data e hora ISO 8601 com fuso (ex.: 2024-01-01T00:00:00Z).")
    return value


def _page(request: HttpRequest, rows: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    page = _int(request, "page", 1, maximum=10**6)
    size = _int(request, "pageSize", 25, maximum=100)
    meta = {
        "totalRecords": len(rows),
        "totalPages": max(1, math.ceil(len(rows) / size)),
        "requestDateTime": now_rfc3339(),
    }
    return rows[(page - 1) * size : page * size], meta


def _modality(consent: InitiatorConsent) -> str:
    payment = consent.request_body.get("data", {}).get("payment", {})
    return "SCHEDULED" if payment.get("schedule") else "IMMEDIATE"


def _summary(consent: InitiatorConsent) -> dict[str, Any]:
    return {
        "id": consent.consent_id,
        "type": "PAYMENT",
        "status": consent.status,
        "createdOn": rfc3339(consent.created_at),
        "expiresOn": rfc3339(consent.expires_at) if consent.expires_at else None,
        "brandId": consent.participant.authorisation_server_id,
        "tppLogo": consent.participant.logo_uri,
        "tppName": consent.participant.friendly_name,
        "modalityType": _modality(consent),
        "authorisationServerId": consent.participant.authorisation_server_id,
    }


@endpoint(["GET"])
def consents(request: HttpRequest, *, application: Application) -> HttpResponse:
    order = request.GET.get("orderType", "DESC")
    if order not in ("ASC", "DESC"):
        raise ParameterInvalid("orderType deve ser ASC ou DESC.")
    listed = selectors.backoffice_consents(
        application=application,
        statuses=selectors.split_list(",".join([request.GET.get("status", ""), request.GET.get("statusList", "")])),
        consent_ids=selectors.split_list(
            ",".join([request.GET.get("consentId", ""), request.GET.get("consentIdList", "")])
        ),
        cpf=request.GET.get("cpf", ""),
        cnpj=request.GET.get("cnpj", ""),
        created_from=_datetime(request, "createdOnBegin"),
        created_to=_datetime(request, "createdOnEnd"),
        ascending=order == "ASC",
    )
    rows, meta = _page(request, list(listed))
    return JsonResponse({"data": [_summary(c) for c in rows], "meta": meta})


@endpoint(["GET"])
def consent_payments(request: HttpRequest, consent_id: str, *, application: Application) -> HttpResponse:
    listed = selectors.backoffice_payments(application=application, consent_id=consent_id)
    rows, meta = _page(request, list(listed))
    data = [{"regulatoryData": {"paymentData": p.holder_body.get("data") or {}}} for p in rows]
    return JsonResponse({"data": data, "meta": meta})


def _order(request: HttpRequest) -> bool:
    order = request.GET.get("orderType", "DESC")
    if order not in ("ASC", "DESC"):
        raise ParameterInvalid("orderType deve ser ASC ou DESC.")
    return order == "ASC"


def _enrollment_summary(enrollment: InitiatorEnrollment) -> dict[str, Any]:
    """EnrollmentSummary: the holder's regulated ``data`` as last read, and who the holder is. The linked consent
    (regulatoryLinkedConsentData) is the newest consent this enrollment authorised that is still AUTHORISED."""
    linked = enrollment.consents.filter(status=ConsentStatus.AUTHORISED).order_by("-created_at").first()
    return {
        "regulatoryEnrollmentData": enrollment.holder_data,
        "additionalData": {
            "tppData": {
                "internalTppId": enrollment.participant.authorisation_server_id,
                "tppName": enrollment.participant.friendly_name,
                "tppLogo": enrollment.participant.logo_uri,
            },
            "regulatoryLinkedConsentData": linked.holder_data if linked is not None else {},
        },
    }


@endpoint(["GET"])
def enrollments(request: HttpRequest, *, application: Application) -> HttpResponse:
    listed = selectors.backoffice_enrollments(
        application=application,
        statuses=selectors.split_list(
            ",".join([request.GET.get("enrollmentStatus", ""), request.GET.get("enrollmentStatusList", "")])
        ),
        enrollment_ids=selectors.split_list(
            ",".join([request.GET.get("enrollmentId", ""), request.GET.get("enrollmentIdList", "")])
        ),
        cpf=request.GET.get("cpf", ""),
        cnpj=request.GET.get("cnpj", ""),
        created_from=_datetime(request, "createdOnBegin"),
        created_to=_datetime(request, "createdOnEnd"),
        ascending=_order(request),
    )
    rows, meta = _page(request, list(listed))
    return JsonResponse({"data": [_enrollment_summary(e) for e in rows], "meta": meta})
