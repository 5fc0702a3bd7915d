"""Bearer access tokens. Only the SHA-256 of a token is stored, so the table alone never authenticates anyone."""

import datetime as dt
import hashlib
import secrets

from django.utils import timezone

from opusof.models import AccessToken, TppClient


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def access_token_mint(
    *,
    client: TppClient,
    grant_type: str,
    scopes: list[str],
    consent_id: str = "",
    ttl_seconds: int = 900,
    cert_thumbprint: str = "",
) -> str:
    """Issues a token and returns its raw value (32 random bytes, URL-safe); the caller hands it out once.

    ``cert_thumbprint`` is the ``x5t#S256`` of the client certificate the token is bound to (RFC 8705).
    """
    if grant_type not in AccessToken.GrantType.values:
        raise ValueError(f"unknown grant type {grant_type!r}")
    raw = secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_hash=token_hash(raw),
        client=client,
        grant_type=grant_type,
        scopes=list(scopes),
        consent_id=consent_id,
        cert_thumbprint=cert_thumbprint,
        expires_at=timezone.now() + dt.timedelta(seconds=ttl_seconds),
    )
    return raw


def access_token_resolve(raw: str) -> AccessToken | None:
    """The live token for ``raw`` (not expired, not revoked, its client active), with its client, in one query."""
    if not raw or len(raw) > 2048:
        return None
    return (
        AccessToken.objects.select_related("client")
        .filter(
            token_hash=token_hash(raw),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            client__status=TppClient.Status.ACTIVE,
        )
        .first()
    )


def access_token_revoke(*, token: AccessToken) -> AccessToken:
    """Revokes ``token`` (idempotent: the first revocation time is kept)."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
