"""Our registration at each holder (OFB DCR profile: RFC 7591 with a software statement signed by the Directory;
RFC 7592 to update it). The software statement comes from the stand-in Directory locally; it lists our redirect
URIs (one per application, initiator_redirecionamento.md), our webhook URI and our public keys."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from initiator import crypto
from initiator.fapi.client import HolderAnswerInvalid, HolderUnavailable, OAuthRefused
from initiator.fapi.keys import public_jwks
from initiator.models import Application, HolderRegistration, Participant
from initiator.services.holder import CallLog, fapi_for
from opusof.authserver.directory import issue_software_statement

REDIRECT_PATH = "/opus-open-finance/payments/redirect-uri"


def redirect_uri_for(application: Application) -> str:
    """``https://<FQDN>/opus-open-finance/payments/redirect-uri/<redirect_identifier>``; the scheme follows
    INITIATOR_BASE_URL (plain http only on a local run)."""
    scheme = urlsplit(settings.INITIATOR_BASE_URL).scheme or "https"
    return f"{scheme}://{application.fqdn}{REDIRECT_PATH}/{application.redirect_identifier}"


def redirect_uris() -> list[str]:
    uris = [settings.INITIATOR_BASE_URL + REDIRECT_PATH]
    uris += [redirect_uri_for(app) for app in Application.objects.filter(active=True).order_by("created_at")]
    return list(dict.fromkeys(uris))


def software_statement() -> str:
    return issue_software_statement(
        {
            "software_id": settings.INITIATOR_SOFTWARE_ID,
            "software_client_name": "Opus Iniciadora",
            "org_id": settings.INITIATOR_ORGANISATION_ID,
            "org_name": settings.INITIATOR_ORGANISATION_NAME,
            "software_roles": ["PAGTO"],
            "software_redirect_uris": redirect_uris(),
            "software_api_webhook_uris": [settings.INITIATOR_BASE_URL],
            "software_jwks": public_jwks(),
        }
    )


def _registration_body() -> dict[str, Any]:
    return {
        "software_statement": software_statement(),
        "redirect_uris": redirect_uris(),
        "token_endpoint_auth_method": "private_key_jwt",
        "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types": ["code id_token", "code"],
        "id_token_signed_response_alg": "PS256",
        "request_object_signing_alg": "PS256",
    }


def registration_create(*, participant: Participant) -> HolderRegistration:
    """DCR at the participant (a new registration, or the same software's client back)."""
    fapi = fapi_for(participant, log=CallLog(participant))
    answer = fapi.register(_registration_body())
    with transaction.atomic():
        registration, _ = HolderRegistration.objects.update_or_create(
            participant=participant,
            defaults={
                "client_id": str(answer["client_id"]),
                "registration_client_uri": str(answer.get("registration_client_uri", "")),
                "registration_access_token": crypto.encrypt(str(answer.get("registration_access_token", ""))),
                "redirect_uris": list(answer.get("redirect_uris") or []),
                "metadata": {k: v for k, v in answer.items() if k not in ("registration_access_token",)},
                "dcm_status": "success",
                "registered_at": timezone.now(),
                "updated_at": timezone.now(),
            },
        )
    return registration


def registration_ensure(*, participant: Participant) -> HolderRegistration:
    registration = HolderRegistration.objects.filter(participant=participant).first()
    return registration or registration_create(participant=participant)


def registration_update(*, registration: HolderRegistration, version: str) -> HolderRegistration:
    """DCM (RFC 7592 PUT) with a fresh software statement: redirect URIs of applications added since."""
    fapi = fapi_for(registration.participant, log=CallLog(registration.participant))
    body = {**_registration_body(), "client_id": registration.client_id}
    token = crypto.decrypt(registration.registration_access_token)
    try:
        answer = fapi.registration_update(uri=registration.registration_client_uri, token=token, body=body)
    except (HolderUnavailable, HolderAnswerInvalid, OAuthRefused):
        HolderRegistration.objects.filter(pk=registration.pk).update(dcm_status="error", updated_at=timezone.now())
        raise
    registration.redirect_uris = list(answer.get("redirect_uris") or [])
    registration.metadata = answer
    registration.dcm_version = version
    registration.dcm_status = "success"
    registration.updated_at = timezone.now()
    registration.save()
    return registration
