"""Merchants: creation (with the gateway application they reach banks through), their OAuth2 client
credentials and access tokens, and their settings (redirect URL, webhook URL and security)."""

import datetime as dt
import hmac
import secrets
import uuid
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from initiator.services.applications import application_create
from initiator.services.for_merchants import application_set_callback_uris
from merchant.errors import Forbidden, InvalidRequest, Unauthenticated
from merchant.models import Merchant, MerchantToken
from opusof.tokens import token_hash

TOKEN_LIFETIME = dt.timedelta(hours=1)
WEBHOOK_SECURITY = ("hmac", "mtls")


def _url(value: str, field: str, *, required: bool) -> str:
    if not value and not required:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidRequest(f"{field} deve ser uma URL http(s).", field=field)
    return value


@transaction.atomic
def merchant_create(
    *,
    name: str,
    redirect_url: str,
    webhook_url: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
    webhook_secret: str | None = None,
) -> tuple[Merchant, str]:
    """A merchant and its client secret (returned once; only its hash is kept)."""
    _url(redirect_url, "redirectURL", required=True)
    _url(webhook_url, "webhookURL", required=False)
    merchant_id = uuid.uuid4()
    application, _ = application_create(
        name=f"merchant {name}",
        fqdn=urlsplit(redirect_url).netloc,
        redirect_identifier=f"m-{merchant_id.hex[:24]}",
        callback_uris=[redirect_url],
    )
    secret = client_secret or secrets.token_urlsafe(32)
    merchant = Merchant.objects.create(
        id=merchant_id,
        name=name,
        client_id=client_id or f"Client_Id_{secrets.token_hex(12)}",
        client_secret_hash=token_hash(secret),
        application=application,
        redirect_url=redirect_url,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret or secrets.token_urlsafe(24),
    )
    return merchant, secret


def merchant_authenticate(*, client_id: str, client_secret: str) -> Merchant:
    """The client credentials of RFC 6749 §4.4 (HTTP Basic); any mismatch is the same refusal."""
    merchant = Merchant.objects.filter(client_id=client_id, active=True).select_related("application").first()
    if merchant is None or not hmac.compare_digest(token_hash(client_secret), merchant.client_secret_hash):
        raise Unauthenticated("Credenciais do cliente inválidas.")
    return merchant


def token_issue(*, merchant: Merchant, scopes: list[str] | None = None) -> tuple[str, int]:
    """A bearer token of ``scopes`` (the dialect decides which it grants)."""
    raw = secrets.token_urlsafe(32)
    MerchantToken.objects.create(
        merchant=merchant,
        token_hash=token_hash(raw),
        expires_at=timezone.now() + TOKEN_LIFETIME,
        scopes=" ".join(scopes or []),
    )
    return raw, int(TOKEN_LIFETIME.total_seconds())


def token_authenticate(*, authorization: str, scope: str = "") -> Merchant:
    """The token's merchant; with ``scope``, a token not granted it is refused (RFC 6750 §3.1 insufficient_scope)."""
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthenticated("Token de acesso ausente.")
    token = (
        MerchantToken.objects.select_related("merchant__application")
        .filter(token_hash=token_hash(raw.strip()), expires_at__gt=timezone.now(), merchant__active=True)
        .first()
    )
    if token is None:
        raise Unauthenticated("Token de acesso inválido ou expirado.")
    if scope and scope not in token.scopes.split():
        raise Forbidden(f"O token de acesso não tem o escopo {scope} exigido por este recurso.")
    return token.merchant


@transaction.atomic
def merchant_configure(
    *, merchant: Merchant, redirect_url: str, webhook_url: str, webhook_security: str, webhook_secret: str
) -> Merchant:
    """The merchant's settings; the gateway application's callback follows the redirect URL (the customer comes
    back there from the bank)."""
    _url(redirect_url, "redirectURL", required=True)
    _url(webhook_url, "webhookURL", required=False)
    if webhook_security not in WEBHOOK_SECURITY:
        raise InvalidRequest("webhookSecurity.type deve ser hmac ou mtls.", field="webhookSecurity.type")
    if webhook_security == "mtls" and webhook_url and not webhook_url.startswith("https://"):
        raise InvalidRequest("Com webhookSecurity mtls, webhookURL deve ser https.", field="webhookURL")
    locked = Merchant.objects.select_for_update().select_related("application").get(pk=merchant.pk)
    locked.redirect_url = redirect_url
    locked.webhook_url = webhook_url
    locked.webhook_security = webhook_security
    if webhook_secret:
        locked.webhook_secret = webhook_secret
    locked.save()
    application_set_callback_uris(
        application=locked.application,
        callback_uris=[redirect_url, *(u for u in locked.application.callback_uris if u != redirect_url)],
    )
    return locked


def merchant_allow_callback(*, merchant: Merchant, callback_url: str) -> None:
    """A plan may name its own return URL (Belvo's ``callback_url``): the gateway application accepts it too."""
    _url(callback_url, "callback_url", required=True)
    uris = list(merchant.application.callback_uris)
    if callback_url not in uris:
        application_set_callback_uris(application=merchant.application, callback_uris=[*uris, callback_url])
        merchant.application.callback_uris = [*uris, callback_url]
