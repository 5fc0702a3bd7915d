"""Reads of the gateway, always scoped by the caller where a caller exists (an application sees only its own)."""

import datetime as dt
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from initiator.models import (
    Application,
    ConsentProduct,
    HolderRegistration,
    InitiatorConsent,
    InitiatorEnrollment,
    InitiatorPayment,
    Participant,
)

_Record = TypeVar("_Record", bound=Model)


def participants(*, role: str = "", family_type: str = "") -> list[Participant]:
    """en-opusTPP-iniciacaoPagamentos.yml GET /participants: ``role`` in OrgDomainRoleClaims, ``familyType`` in
    ApiResources."""
    listed = []
    for participant in Participant.objects.filter(active=True):
        if role and not any(claim.get("role") == role for claim in participant.roles):
            continue
        if family_type and not any(r.get("ApiFamilyType") == family_type for r in participant.api_resources):
            continue
        listed.append(participant)
    return listed


def registrations() -> QuerySet[HolderRegistration]:
    return HolderRegistration.objects.select_related("participant").order_by("participant__friendly_name")


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def backoffice_consents(
    *,
    application: Application,
    statuses: list[str],
    consent_ids: list[str],
    cpf: str = "",
    cnpj: str = "",
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    ascending: bool = False,
) -> QuerySet[InitiatorConsent]:
    # The backoffice's consents are payments v4 consents (en-opusTPP-backoffice.yml regulatoryData); recurring
    # consents are listed with their charges (docs/initiator-automatic-payments.md).
    consents = InitiatorConsent.objects.select_related("participant").filter(
        application=application, product=ConsentProduct.PAYMENTS
    )
    if statuses:
        consents = consents.filter(status__in=statuses)
    if consent_ids:
        consents = consents.filter(consent_id__in=consent_ids)
    if cpf:
        consents = consents.filter(request_body__data__loggedUser__document__identification=cpf)
    if cnpj:
        consents = consents.filter(
            Q(request_body__data__businessEntity__document__identification=cnpj)
            | Q(request_body__data__creditor__cpfCnpj=cnpj)
        )
    return _in_period(consents, created_from, created_to, ascending)


def backoffice_payments(*, application: Application, consent_id: str) -> QuerySet[InitiatorPayment]:
    return InitiatorPayment.objects.filter(application=application, consent__consent_id=consent_id).order_by(
        "-created_at"
    )


def backoffice_enrollments(
    *,
    application: Application,
    statuses: list[str],
    enrollment_ids: list[str],
    cpf: str = "",
    cnpj: str = "",
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    ascending: bool = False,
) -> QuerySet[InitiatorEnrollment]:
    """en-opusTPP-backoffice.yml GET /backoffice/enrollments: the application's enrollments, filtered."""
    enrollments = InitiatorEnrollment.objects.select_related("participant").filter(application=application)
    if statuses:
        enrollments = enrollments.filter(status__in=statuses)
    if enrollment_ids:
        enrollments = enrollments.filter(enrollment_id__in=enrollment_ids)
    if cpf:
        enrollments = enrollments.filter(logged_user_document=cpf)
    if cnpj:
        enrollments = enrollments.filter(business_entity_document=cnpj)
    return _in_period(enrollments, created_from, created_to, ascending)


def _in_period(
    records: QuerySet[_Record], created_from: dt.datetime | None, created_to: dt.datetime | None, ascending: bool
) -> QuerySet[_Record]:
    """The backoffice's creation-date window and order (en-opusTPP-backoffice.yml), shared by its listings."""
    if created_from:
        records = records.filter(created_at__gte=created_from)
    if created_to:
        records = records.filter(created_at__lte=created_to)
    return records.order_by("created_at" if ascending else "-created_at")
