"""The directory of holders: read from an OFB-Directory-style participants JSON (a list of organisations, each with
its ``AuthorisationServers``), stored one row per authorisation server, and the regulatory version a call uses.

With no source configured the list is our own holder alone, described from OPUSOF_BASE_URL, so a local run needs
no network (the holder is still reached only over HTTP, like any other)."""

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from initiator.models import Participant

logger = logging.getLogger(__name__)

OWN_AUTHORISATION_SERVER_ID = "0b6c1d3e-8f2a-4b5c-9d7e-1a2b3c4d5e6f"
# The payments API versions this gateway speaks to a holder (payments-4.0.0.yml).
SUPPORTED_MAJORS = {4}
CONSENTS_FAMILY = "payments-consents"
PIX_FAMILY = "payments-pix"
# automatic-payments-2.0.0.yml, as the Directory names its two resources.
RECURRING_CONSENTS_FAMILY = "payments-recurring-consents"
RECURRING_PIX_FAMILY = "payments-pix-recurring-payments"
# enrollments-2.1.0.yml (payments without redirect), the Directory's family for /open-banking/enrollments/v2.
ENROLLMENTS_FAMILY = "enrollments"
MAJORS_BY_FAMILY = {
    ENROLLMENTS_FAMILY: {2},
    CONSENTS_FAMILY: SUPPORTED_MAJORS,
    PIX_FAMILY: SUPPORTED_MAJORS,
    RECURRING_CONSENTS_FAMILY: {2},
    RECURRING_PIX_FAMILY: {2},
}
_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?$")


def own_holder_document() -> list[dict[str, Any]]:
    """Our own holder as the Directory would list it."""
    base = settings.OPUSOF_BASE_URL.rstrip("/")
    return [
        {
            "OrganisationId": settings.OPUSOF_ORGANISATION_ID,
            "RegisteredName": "opusof Banco Sandbox S.A.",
            "RegistrationNumber": "99999004000100",
            "OrgDomainRoleClaims": [{"Role": "CONTA", "Status": "Active"}],
            "AuthorisationServers": [
                {
                    "AuthorisationServerId": OWN_AUTHORISATION_SERVER_ID,
                    "CustomerFriendlyName": "opusof Banco Sandbox",
                    "CustomerFriendlyLogoUri": "https://opusof.example.com/logo.svg",
                    "CustomerFriendlyDescription": "Detentora de conta desta instalação (sandbox)",
                    "OpenIDDiscoveryDocument": f"{base}/.well-known/openid-configuration",
                    "ApiResources": [
                        {
                            "ApiFamilyType": CONSENTS_FAMILY,
                            "ApiVersion": "4.0.0",
                            "ApiDiscoveryEndpoints": [{"ApiEndpoint": f"{base}/open-banking/payments/v4/consents"}],
                        },
                        {
                            "ApiFamilyType": PIX_FAMILY,
                            "ApiVersion": "4.0.0",
                            "ApiDiscoveryEndpoints": [{"ApiEndpoint": f"{base}/open-banking/payments/v4/pix/payments"}],
                        },
                        {
                            "ApiFamilyType": RECURRING_CONSENTS_FAMILY,
                            "ApiVersion": "2.0.0",
                            "ApiDiscoveryEndpoints": [
                                {"ApiEndpoint": f"{base}/open-banking/automatic-payments/v2/recurring-consents"}
                            ],
                        },
                        {
                            "ApiFamilyType": RECURRING_PIX_FAMILY,
                            "ApiVersion": "2.0.0",
                            "ApiDiscoveryEndpoints": [
                                {"ApiEndpoint": f"{base}/open-banking/automatic-payments/v2/pix/recurring-payments"}
                            ],
                        },
                        {
                            "ApiFamilyType": ENROLLMENTS_FAMILY,
                            "ApiVersion": "2.1.0",
                            "ApiDiscoveryEndpoints": [
                                {"ApiEndpoint": f"{base}/open-banking/enrollments/v2/enrollments"}
                            ],
                        },
                    ],
                    "Flags": {},
                }
            ],
        }
    ]


def _read_source(source: str) -> Any:
    if not source:
        return own_holder_document()
    if source.startswith(("https://", "http://")):
        timeout = httpx.Timeout(settings.INITIATOR_HTTP_READ_TIMEOUT, connect=settings.INITIATOR_HTTP_CONNECT_TIMEOUT)
        response = httpx.get(source, timeout=timeout)
        response.raise_for_status()
        return response.json()
    return json.loads(Path(source).read_text(encoding="utf-8"))


def _roles(organisation: dict[str, Any]) -> list[dict[str, str]]:
    claims = organisation.get("OrgDomainRoleClaims") or []
    return [
        {"Status": str(c.get("Status", "Active")), "role": str(c.get("Role") or c.get("role") or "")}
        for c in claims
        if isinstance(c, dict)
    ]


@transaction.atomic
def participants_refresh(*, source: str | None = None) -> int:
    """Reads the participants JSON and upserts one row per authorisation server; servers no longer listed are
    marked inactive (their consents keep their history). Returns how many are listed."""
    document = _read_source(settings.INITIATOR_PARTICIPANTS_SOURCE if source is None else source)
    if not isinstance(document, list):
        raise ValueError("participants JSON must be a list of organisations")
    now = timezone.now()
    seen: list[str] = []
    for organisation in document:
        if not isinstance(organisation, dict):
            continue
        for server in organisation.get("AuthorisationServers") or []:
            server_id = str(server.get("AuthorisationServerId", ""))
            discovery = str(server.get("OpenIDDiscoveryDocument", ""))
            if not server_id or not discovery:
                continue
            seen.append(server_id)
            Participant.objects.update_or_create(
                authorisation_server_id=server_id,
                defaults={
                    "organisation_id": str(organisation.get("OrganisationId", "")),
                    "organisation_name": str(organisation.get("RegisteredName", "")),
                    "registration_number": str(organisation.get("RegistrationNumber", "")),
                    "friendly_name": str(server.get("CustomerFriendlyName") or organisation.get("RegisteredName", "")),
                    "logo_uri": str(server.get("CustomerFriendlyLogoUri", "")),
                    "description": str(server.get("CustomerFriendlyDescription", "")),
                    "discovery_url": discovery,
                    "roles": _roles(organisation),
                    "api_resources": list(server.get("ApiResources") or []),
                    "flags": dict(server.get("Flags") or server.get("AuthorisationServerFlags") or {}),
                    "active": True,
                    "refreshed_at": now,
                },
            )
    Participant.objects.exclude(authorisation_server_id__in=seen).update(active=False, refreshed_at=now)
    logger.info("participants refreshed", extra={"listed": len(seen)})
    return len(seen)


# --- regulatory versions ---------------------------------------------------------------------------------------


def _parse(version: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(version.strip())
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


def _text(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def served_versions(participant: Participant, family: str) -> dict[str, str]:
    """The versions of ``family`` the participant serves that we speak, each with its endpoint URL."""
    versions: dict[str, str] = {}
    for resource in participant.api_resources:
        if not isinstance(resource, dict) or resource.get("ApiFamilyType") != family:
            continue
        parsed = _parse(str(resource.get("ApiVersion", "")))
        endpoints = resource.get("ApiDiscoveryEndpoints") or []
        if parsed is None or parsed[0] not in MAJORS_BY_FAMILY.get(family, SUPPORTED_MAJORS) or not endpoints:
            continue
        versions[_text(parsed)] = str(endpoints[0].get("ApiEndpoint", ""))
    return versions


def select_version(requested: str | None, available: list[str]) -> str | None:
    """en-opusTPP-iniciacaoPagamentos.yml ``RegulatoryVersion``: none asked → the newest served; an exact match →
    that one; a version not served (full or major only) → the newest of the same major, else the newest."""
    ordered = sorted((v for v in available if _parse(v)), key=lambda v: _parse(v) or (0, 0, 0))
    if not ordered:
        return None
    if not requested:
        return ordered[-1]
    asked = _parse(requested)
    if asked is None:
        return ordered[-1]
    exact = _text(asked)
    if "." in requested.strip() and exact in ordered:
        return exact
    same_major = [v for v in ordered if (_parse(v) or (0,))[0] == asked[0]]
    return same_major[-1] if same_major else ordered[-1]


def wire(participant: Participant) -> dict[str, Any]:
    """ParticipantsResponse item."""
    resources = []
    for resource in participant.api_resources:
        parsed = _parse(str(resource.get("ApiVersion", "")))
        resources.append(
            {"ApiFamilyType": str(resource.get("ApiFamilyType", "")), "ApiVersion": parsed[0] if parsed else 0}
        )
    return {
        "OpenIDDiscoveryDocument": participant.discovery_url,
        "CustomerFriendlyName": participant.friendly_name,
        "CustomerFriendlyLogoUri": participant.logo_uri,
        "CustomerFriendlyDescription": participant.description,
        "Organisations": [
            {
                "OrganisationId": participant.organisation_id,
                "RegisteredName": participant.organisation_name,
                "RegistrationNumber": participant.registration_number,
            }
        ],
        "OrgDomainRoleClaims": participant.roles,
        "AuthorisationServerIds": [participant.authorisation_server_id],
        "ApiResources": resources,
        "AuthorisationServerFlags": participant.flags,
    }
