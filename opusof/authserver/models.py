"""Authorisation-server state: pushed authorisation requests, authorisation codes, refresh tokens and per-client
OAuth settings. Codes and refresh tokens are stored as SHA-256 only, like access tokens (opusof.tokens)."""

from django.db import models

from opusof.models import AccessToken, TppClient


class ClientAuthSettings(models.Model):
    """OAuth registration details the TppClient row does not hold (RFC 7591 metadata, RFC 8705 §2.1)."""

    class AuthMethod(models.TextChoices):
        PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt"
        TLS_CLIENT_AUTH = "tls_client_auth", "tls_client_auth"

    client = models.OneToOneField(TppClient, on_delete=models.CASCADE, related_name="auth_settings")
    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.PRIVATE_KEY_JWT
    )
    # tls_client_auth: the certificate's subject DN (RFC 4514 string) the client registered.
    tls_client_auth_subject_dn = models.CharField(max_length=1024, blank=True)
    # RFC 7592: the registration access token (SHA-256 only) that lets the client read/update/delete itself.
    registration_access_token_hash = models.CharField(max_length=64, blank=True)
    software_statement = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.client.client_id}: {self.token_endpoint_auth_method}"


class PushedAuthorisationRequest(models.Model):
    """A request object received at the PAR endpoint (RFC 9126); the authorize endpoint takes only its URI."""

    request_uri = models.CharField(max_length=128, unique=True)
    client = models.ForeignKey(TppClient, on_delete=models.CASCADE, related_name="pushed_requests")
    consent_id = models.CharField(max_length=256, db_index=True)
    redirect_uri = models.CharField(max_length=1024)
    scopes = models.JSONField(default=list)
    state = models.CharField(max_length=512, blank=True)
    nonce = models.CharField(max_length=512)
    code_challenge = models.CharField(max_length=128)
    response_type = models.CharField(max_length=32)
    response_mode = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"PAR {self.request_uri} ({self.client.client_id}, {self.consent_id})"


class AuthorisationCode(models.Model):
    """A code issued after the customer approved; single use, bound to client, redirect URI, PKCE and consent."""

    code_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(TppClient, on_delete=models.CASCADE, related_name="authorisation_codes")
    consent_id = models.CharField(max_length=256, db_index=True)
    redirect_uri = models.CharField(max_length=1024)
    scopes = models.JSONField(default=list)
    nonce = models.CharField(max_length=512, blank=True)
    code_challenge = models.CharField(max_length=128)
    subject = models.CharField(max_length=128)
    auth_time = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # What the code was exchanged for, so a replayed code can revoke it (RFC 6749 §4.1.2, OAuth 2.0 BCP §4.5).
    access_token = models.ForeignKey(AccessToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    refresh_token = models.ForeignKey(
        "RefreshToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"code for {self.consent_id} ({self.client.client_id})"


class RefreshToken(models.Model):
    """A refresh token of an authorization_code grant: new access tokens for the same consent and scopes."""

    token_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(TppClient, on_delete=models.CASCADE, related_name="refresh_tokens")
    scopes = models.JSONField(default=list)
    consent_id = models.CharField(max_length=256, blank=True, db_index=True)
    cert_thumbprint = models.CharField(max_length=128, blank=True)
    subject = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh token of {self.client.client_id} for {self.consent_id or '-'}"
