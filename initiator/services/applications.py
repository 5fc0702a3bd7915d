"""The company's applications: registration, their credential, webhook URL and external client id
(en-opusTPP-apisInternas.yml)."""

import hmac
import secrets
import uuid

from django.db import transaction

from initiator.errors import NotFound, ParameterInvalid, Unauthorised
from initiator.models import Application
from opusof.tokens import token_hash


def application_create(
    *,
    name: str,
    fqdn: str,
    redirect_identifier: str,
    callback_uris: list[str],
    webhook_url: str = "",
    application_id: uuid.UUID | None = None,
    credential: str | None = None,
) -> tuple[Application, str]:
    """A new application and its bearer credential (returned once; only its hash is kept)."""
    raw = credential or secrets.token_urlsafe(32)
    application = Application.objects.create(
        id=application_id or uuid.uuid4(),
        name=name,
        fqdn=fqdn,
        redirect_identifier=redirect_identifier,
        callback_uris=callback_uris,
        webhook_url=webhook_url,
        credential_hash=token_hash(raw),
    )
    return application, raw


def application_authenticate(*, application_id: str, authorization: str) -> Application:
    """``x-application-id`` + ``Authorization: Bearer <credential>``; any mismatch is the same 401."""
    scheme, _, raw = authorization.partition(" ")
    try:
        parsed = uuid.UUID(application_id)
    except ValueError as exc:
        raise Unauthorised() from exc
    application = Application.objects.filter(pk=parsed, active=True).first()
    if (
        application is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token_hash(raw.strip()), application.credential_hash)
    ):
        raise Unauthorised()
    return application


def _own(caller: Application, application_id: str) -> Application:
    # An application manages only itself: another's id is not found, never forbidden (it reveals nothing).
    if str(caller.pk) != application_id:
        raise NotFound("Aplicação não encontrada.")
    return caller


def application_set_webhook_url(*, caller: Application, application_id: str, webhook_url: str) -> None:
    application = _own(caller, application_id)
    if webhook_url and not webhook_url.startswith(("https://", "http://")):
        raise ParameterInvalid("webhookUrl deve ser uma URL http(s).")
    Application.objects.filter(pk=application.pk).update(webhook_url=webhook_url)


@transaction.atomic
def application_set_external_client(*, caller: Application, application_id: str, external_client_id: str) -> None:
    application = _own(caller, application_id)
    if Application.objects.filter(external_client_id=external_client_id).exclude(pk=application.pk).exists():
        raise ParameterInvalid("externalClientId já associado a outra aplicação.")
    Application.objects.filter(pk=application.pk).update(external_client_id=external_client_id)
