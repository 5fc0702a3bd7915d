"""The token endpoint's grants (client_credentials, authorization_code with PKCE, refresh_token), revocation and
introspection (RFC 6749 §4.1.3 / §4.4 / §6, RFC 7636, RFC 7009, RFC 7662; FAPI 1.0 Advanced as the OFB security
profile fixes it). Access tokens are bound to the consent named in the authorisation's scope and to the client's
certificate (RFC 8705); how long a refresh token lives is the consent journey's to say (journeys.py)."""

import datetime as dt
import hmac
import re
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from opusof.authserver import endpoints
from opusof.authserver.errors import OAuthError, invalid_grant, invalid_request
from opusof.authserver.models import AuthorisationCode, RefreshToken
from opusof.authserver.services import (
    ACCESS_TOKEN_TTL_SECONDS,
    CLIENT_CREDENTIALS_SCOPES,
    PAYMENTS,
    REFRESH_TOKEN_TTL_SECONDS,
    id_token_sign,
    journey_for,
    pkce_s256,
)
from opusof.models import AccessToken, TppClient
from opusof.tokens import access_token_mint, access_token_revoke, token_hash

# RFC 7636 §4.1: 43 to 128 unreserved characters.
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")

# --- Grants --------------------------------------------------------------------------------------------------------


def _token_response(
    *, access_token: str, scopes: list[str], refresh_token: str | None = None, id_token: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECONDS,
        "scope": " ".join(scopes),
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if id_token is not None:
        body["id_token"] = id_token
    return body


def grant_client_credentials(*, client: TppClient, scope: str, cert_thumbprint: str) -> dict[str, Any]:
    """``client_credentials`` for consents and GETs: ``payments`` and/or ``recurring-payments`` (OFB security
    profile §"scopes"), as far as the client was granted them."""
    requested = scope.split() if scope else [PAYMENTS]
    allowed = CLIENT_CREDENTIALS_SCOPES & set(client.scopes or [PAYMENTS])
    if not requested or not set(requested) <= allowed:
        raise OAuthError("invalid_scope", "client_credentials aceita apenas os escopos payments e recurring-payments.")
    token = access_token_mint(
        client=client,
        grant_type=AccessToken.GrantType.CLIENT_CREDENTIALS,
        scopes=requested,
        ttl_seconds=ACCESS_TOKEN_TTL_SECONDS,
        cert_thumbprint=cert_thumbprint,
    )
    return _token_response(access_token=token, scopes=requested)


def _revoke_issued(code: AuthorisationCode) -> None:
    if code.access_token is not None:
        access_token_revoke(token=code.access_token)
    if code.refresh_token is not None and code.refresh_token.revoked_at is None:
        code.refresh_token.revoked_at = timezone.now()
        code.refresh_token.save(update_fields=["revoked_at"])


def _redeem_code(
    *, client: TppClient, code: str, redirect_uri: str, code_verifier: str, cert_thumbprint: str
) -> dict[str, Any] | OAuthError:
    # No select_related: a request that waited on the lock must read the tokens the first exchange linked, and a
    # joined row would come from before the wait (PostgreSQL re-checks only the locked row).
    code_row = AuthorisationCode.objects.select_for_update().filter(code_hash=token_hash(code), client=client).first()
    if code_row is None:
        return invalid_grant("Código de autorização inválido.")
    if code_row.used_at is not None:
        # A second use means the code leaked: revoke what the first use issued (RFC 6749 §4.1.2).
        _revoke_issued(code_row)
        return invalid_grant("Código de autorização já utilizado; tokens emitidos com ele foram revogados.")
    code_row.used_at = timezone.now()  # burnt by any attempt, so a wrong verifier cannot be retried at leisure
    code_row.save(update_fields=["used_at"])
    if code_row.expires_at <= timezone.now():
        return invalid_grant("Código de autorização expirado.")
    if redirect_uri != code_row.redirect_uri:
        return invalid_grant("redirect_uri diverge do usado na autorização.")
    if not _PKCE_VERIFIER.match(code_verifier) or not hmac.compare_digest(
        pkce_s256(code_verifier), code_row.code_challenge
    ):
        return invalid_grant("code_verifier ausente ou não corresponde ao code_challenge (PKCE).")
    raw_access = access_token_mint(
        client=client,
        grant_type=AccessToken.GrantType.AUTHORIZATION_CODE,
        scopes=code_row.scopes,
        consent_id=code_row.consent_id,
        ttl_seconds=ACCESS_TOKEN_TTL_SECONDS,
        cert_thumbprint=cert_thumbprint,
    )
    raw_refresh = secrets.token_urlsafe(32)
    refresh = RefreshToken.objects.create(
        token_hash=token_hash(raw_refresh),
        client=client,
        scopes=code_row.scopes,
        consent_id=code_row.consent_id,
        cert_thumbprint=cert_thumbprint,
        subject=code_row.subject,
        expires_at=journey_for(code_row.scopes).refresh_token_expiry(
            client=client,
            target_id=code_row.consent_id,
            # payments v4 consents and enrollments: bounded in practice by the consent (consumed once)
            default=timezone.now() + dt.timedelta(seconds=REFRESH_TOKEN_TTL_SECONDS),
        ),
    )
    code_row.access_token = AccessToken.objects.get(token_hash=token_hash(raw_access))
    code_row.refresh_token = refresh
    code_row.save(update_fields=["access_token", "refresh_token"])
    id_token = id_token_sign(
        client=client,
        subject=code_row.subject,
        nonce=code_row.nonce,
        auth_time=code_row.auth_time,
        access_token=raw_access,
    )
    return _token_response(
        access_token=raw_access, scopes=code_row.scopes, refresh_token=raw_refresh, id_token=id_token
    )


def grant_authorization_code(
    *, client: TppClient, code: str, redirect_uri: str, code_verifier: str, cert_thumbprint: str
) -> dict[str, Any]:
    """Exchanges a code once; a replay revokes what the first exchange issued. Errors commit (the code burns)."""
    if not code:
        raise invalid_request("Parâmetro code ausente.")
    with transaction.atomic():
        result = _redeem_code(
            client=client,
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=code_verifier,
            cert_thumbprint=cert_thumbprint,
        )
    if isinstance(result, OAuthError):
        raise result
    return result


@transaction.atomic
def grant_refresh_token(*, client: TppClient, refresh_token: str, cert_thumbprint: str) -> dict[str, Any]:
    """A new access token for the same consent and scopes. Refresh tokens are not rotated (FAPI 1 Adv §5.2.2-19
    discourages rotation); they die with revocation or with the client."""
    row = (
        RefreshToken.objects.select_for_update()
        .filter(token_hash=token_hash(refresh_token), client=client, revoked_at__isnull=True)
        .first()
    )
    if row is None or row.expires_at <= timezone.now():
        raise invalid_grant("refresh_token inválido, expirado ou revogado.")
    if row.cert_thumbprint and cert_thumbprint and not hmac.compare_digest(row.cert_thumbprint, cert_thumbprint):
        raise invalid_grant("refresh_token vinculado a outro certificado.")
    if not journey_for(row.scopes).refresh_allowed(client=client, target_id=row.consent_id):
        raise invalid_grant("O consentimento (ou vínculo) deste refresh_token está em estado final.")
    raw_access = access_token_mint(
        client=client,
        grant_type=AccessToken.GrantType.REFRESH_TOKEN,
        scopes=row.scopes,
        consent_id=row.consent_id,
        ttl_seconds=ACCESS_TOKEN_TTL_SECONDS,
        cert_thumbprint=cert_thumbprint or row.cert_thumbprint,
    )
    return _token_response(access_token=raw_access, scopes=row.scopes)


def token_subject(token: AccessToken) -> str | None:
    """The ``sub`` of the customer behind an authorization_code (or refreshed) token: its consent had one code."""
    if not token.consent_id:
        return None
    code = AuthorisationCode.objects.filter(client=token.client, consent_id=token.consent_id).first()
    return code.subject if code is not None else None


# --- Revocation and introspection ------------------------------------------------------------------------------------


def token_revoke(*, client: TppClient, token: str) -> None:
    """RFC 7009: revokes the client's own access or refresh token; unknown tokens are not an error (§2.2)."""
    digest = token_hash(token)
    access = AccessToken.objects.filter(token_hash=digest, client=client).first()
    if access is not None:
        access_token_revoke(token=access)
        return
    refresh = RefreshToken.objects.filter(token_hash=digest, client=client, revoked_at__isnull=True).first()
    if refresh is None:
        return
    now = timezone.now()
    refresh.revoked_at = now
    refresh.save(update_fields=["revoked_at"])
    # RFC 7009 §2.1: access tokens of the same grant go with the refresh token.
    if refresh.consent_id:
        AccessToken.objects.filter(
            client=client,
            consent_id=refresh.consent_id,
            grant_type__in=[AccessToken.GrantType.AUTHORIZATION_CODE, AccessToken.GrantType.REFRESH_TOKEN],
            revoked_at__isnull=True,
        ).update(revoked_at=now)


def token_introspect(*, client: TppClient, token: str) -> dict[str, Any]:
    """RFC 7662 for internal use: a client may introspect only its own tokens; anything else is inactive."""
    digest = token_hash(token)
    now = timezone.now()
    access = AccessToken.objects.filter(token_hash=digest, client=client).first()
    if access is not None and access.revoked_at is None and access.expires_at > now and client.is_active:
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "client_id": client.client_id,
            "scope": " ".join(access.scopes),
            "exp": int(access.expires_at.timestamp()),
            "iat": int(access.created_at.timestamp()),
            "iss": endpoints.issuer(),
            "grant_type": access.grant_type,
        }
        if access.consent_id:
            body["consent_id"] = access.consent_id
        if access.cert_thumbprint:
            body["cnf"] = {"x5t#S256": access.cert_thumbprint}
        return body
    refresh = RefreshToken.objects.filter(token_hash=digest, client=client).first()
    if refresh is not None and refresh.revoked_at is None and refresh.expires_at > now and client.is_active:
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": client.client_id,
            "scope": " ".join(refresh.scopes),
            "exp": int(refresh.expires_at.timestamp()),
            "consent_id": refresh.consent_id,
        }
    return {"active": False}
