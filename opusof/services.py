"""Writes to the TPP client registry (the admin and the ``register_client`` command both go through here) and the
purge of expired idempotency records."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from opusof.jose import clear_key_caches, parse_jwks
from opusof.models import IdempotencyRecord, TppClient
from opusof.retention import delete_older_than

_url = URLValidator(schemes=["https", "http"])
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def _validate_uris(field: str, uris: list[str]) -> None:
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        raise ValidationError({field: "a list of URIs"})
    for uri in uris:
        try:
            _url(uri)
        except ValidationError as exc:
            raise ValidationError({field: f"invalid URI {uri!r}"}) from exc


def _validate_jwks(jwks: Any) -> None:
    try:
        keys = parse_jwks(jwks)
    except ValueError as exc:
        raise ValidationError({"jwks": str(exc)}) from exc
    if any(_PRIVATE_JWK_MEMBERS.intersection(jwk) for jwk in jwks["keys"] if isinstance(jwk, dict)):
        raise ValidationError({"jwks": "the JWKS holds private key material; register public keys only"})
    if not keys:
        raise ValidationError({"jwks": "no RSA signing key with a kid (PS256)"})


def tpp_client_validate(
    *,
    client_id: str,
    organisation_id: str,
    name: str,
    jwks: dict[str, Any] | None = None,
    jwks_uri: str = "",
    redirect_uris: list[str] | None = None,
    webhook_uris: list[str] | None = None,
    status: str = TppClient.Status.ACTIVE,
    **_: Any,
) -> None:
    """Raises ValidationError for a registration ``tpp_client_register`` would refuse (forms call it first)."""
    if not client_id or not organisation_id or not name:
        raise ValidationError("client_id, organisation_id and name are required")
    if bool(jwks) == bool(jwks_uri):
        raise ValidationError("give exactly one of jwks (inline) or jwks_uri")
    if jwks:
        _validate_jwks(jwks)
    if jwks_uri:
        _validate_uris("jwks_uri", [jwks_uri])
    _validate_uris("redirect_uris", redirect_uris or [])
    _validate_uris("webhook_uris", webhook_uris or [])
    if status not in TppClient.Status.values:
        raise ValidationError({"status": f"one of {', '.join(TppClient.Status.values)}"})


@transaction.atomic
def tpp_client_register(
    *,
    client_id: str,
    organisation_id: str,
    name: str,
    organisation_name: str = "",
    software_statement_id: str = "",
    redirect_uris: list[str] | None = None,
    webhook_uris: list[str] | None = None,
    jwks: dict[str, Any] | None = None,
    jwks_uri: str = "",
    scopes: list[str] | None = None,
    roles: list[str] | None = None,
    status: str = TppClient.Status.ACTIVE,
) -> TppClient:
    """Creates or updates (by ``client_id``) a TPP as the Directory describes it.

    Exactly one key source: an inline public ``jwks`` or a ``jwks_uri`` (the Directory keystore URL). Webhook
    notifications only ever go to the registered ``webhook_uris``.
    """
    tpp_client_validate(
        client_id=client_id,
        organisation_id=organisation_id,
        name=name,
        jwks=jwks,
        jwks_uri=jwks_uri,
        redirect_uris=redirect_uris,
        webhook_uris=webhook_uris,
        status=status,
    )

    client, _ = TppClient.objects.select_for_update().update_or_create(
        client_id=client_id,
        defaults={
            "organisation_id": organisation_id,
            "name": name,
            "organisation_name": organisation_name,
            "software_statement_id": software_statement_id,
            "redirect_uris": list(redirect_uris or []),
            "webhook_uris": list(webhook_uris or []),
            "jwks": jwks or None,
            "jwks_uri": jwks_uri,
            "scopes": list(scopes or []),
            "roles": list(roles or []),
            "status": status,
        },
    )
    transaction.on_commit(clear_key_caches)
    return client


def tpp_client_set_status(*, client: TppClient, status: str) -> TppClient:
    """Enables or disables a TPP; a disabled TPP's tokens stop authenticating at once (access_token_resolve)."""
    if status not in TppClient.Status.values:
        raise ValidationError({"status": f"one of {', '.join(TppClient.Status.values)}"})
    if client.status != status:
        client.status = status
        client.save(update_fields=["status", "updated_at"])
    return client


def idempotency_records_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes expired ``x-idempotency-key`` records (beat's purge task calls this); returns how many went."""
    return delete_older_than(
        IdempotencyRecord.objects.all(), field="expires_at", cutoff=now or timezone.now(), inclusive=True
    )
