"""Cross-cutting records: the TPP client registry, access tokens, idempotency records and used ``jti`` values."""

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar, cast

from django.db import models
from django.utils import timezone


class TppClient(models.Model):
    """A TPP (payment initiator) registered with the bank, as the OFB Directory describes it."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        INACTIVE = "INACTIVE", "Inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(max_length=255, unique=True)
    organisation_id = models.CharField(max_length=255, db_index=True)
    organisation_name = models.CharField(max_length=255, blank=True)
    software_statement_id = models.CharField(max_length=255, blank=True, db_index=True)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    redirect_uris = models.JSONField(default=list, blank=True)
    webhook_uris = models.JSONField(default=list, blank=True)
    jwks = models.JSONField(null=True, blank=True, help_text="Inline JWKS; used when no JWKS URI is set.")
    jwks_uri = models.URLField(max_length=1024, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    roles = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    # The client is DRF's request.user on the regulated APIs; these let user-oriented code (IsAuthenticated,
    # throttles, logging) treat it as an authenticated principal.
    is_authenticated = True
    is_anonymous = False


class AccessToken(models.Model):
    """An issued bearer token. Only its SHA-256 is stored, so a database leak yields no usable token."""

    class GrantType(models.TextChoices):
        CLIENT_CREDENTIALS = "client_credentials", "client_credentials"
        AUTHORIZATION_CODE = "authorization_code", "authorization_code"
        REFRESH_TOKEN = "refresh_token", "refresh_token"

    token_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(TppClient, on_delete=models.CASCADE, related_name="access_tokens")
    grant_type = models.CharField(max_length=32, choices=GrantType.choices)
    scopes = models.JSONField(default=list)
    consent_id = models.CharField(max_length=256, blank=True, db_index=True)
    cert_thumbprint = models.CharField(max_length=128, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.grant_type} token of {self.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """The outcome of one ``x-idempotency-key`` of one client on one endpoint.

    A retry with the same ``data`` claim gets the stored status and payload back (re-signed); a different ``data``
    gets 422 ERRO_IDEMPOTENCIA (payments v4 1.3.2.5 / 2.2.2.10). ``response_status`` is empty while the first
    request still runs under the row lock.
    """

    client = models.ForeignKey(TppClient, on_delete=models.CASCADE, related_name="idempotency_records")
    endpoint = models.CharField(max_length=100)
    key = models.CharField(max_length=40)
    data_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON text, not jsonb: jsonb reorders keys and a replay must return the body as first sent.
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "endpoint", "key"], name="opusof_idempotency_client_endpoint_key")
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key} ({self.response_status or 'running'})"


class UsedJti(models.Model):
    """A ``jti`` already presented by ``issuer`` in ``scope``: a second use is refused until ``expires_at``.

    In the database, not the cache, so the 24 h replay window of signed request bodies (payments v4 "Validações"
    1.2.4.2) and the single use of client assertions (RFC 7523 §3) survive a Redis restart (opusof.replay).
    """

    class Scope(models.TextChoices):
        REQUEST_JWS = "request-jws", "Signed request body (per organisation)"
        CLIENT_ASSERTION = "client-assertion", "private_key_jwt client assertion (per client)"

    scope = models.CharField(max_length=32, choices=Scope.choices)
    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=256)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "issuer", "jti"], name="opusof_used_jti_scope_issuer")]

    def __str__(self) -> str:
        return f"{self.scope} {self.issuer} {self.jti}"


class AuditedStatus:
    """A regulated record whose status changes only through ``opusof.transitions.transition``: its StatusChange
    model's foreign key has ``related_name="history"``, ``event_kind`` names its webhook events and
    ``resource_id`` is its id on the wire."""

    event_kind: ClassVar[str]
    _loaded: dict[str, Any]

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)  # type: ignore[misc]
        instance._loaded = dict(zip(field_names, values, strict=True))
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)  # type: ignore[misc]
        self.remember_saved(kwargs.get("update_fields"))

    def remember_saved(self, fields: Iterable[str] | None = None) -> None:
        """``fields`` (names or attnames; every column when None) were just written: what the row holds now is the
        baseline of the next ``changed_fields``."""
        loaded = getattr(self, "_loaded", None)
        if loaded is None:
            return
        saved = None if fields is None else set(fields)
        for f in cast(Any, self)._meta.concrete_fields:
            if saved is None or f.name in saved or f.attname in saved:
                loaded[f.attname] = getattr(self, f.attname)

    def remember_stored(self) -> None:
        """The record was just inserted whole (not through ``save``): what it holds is what the row holds."""
        self._loaded = {f.attname: getattr(self, f.attname) for f in cast(Any, self)._meta.concrete_fields}

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)  # type: ignore[misc]
        self.__dict__.pop("_loaded", None)  # the next write is a whole row

    def changed_fields(self) -> list[str] | None:
        """The columns that differ from what was read (for ``save(update_fields=...)``: a transition writes a few
        columns, not the whole row); None when the row was not read whole (new, or deferred fields). Mutable
        values (JSON) count as changed: an in-place edit cannot be seen."""
        loaded = getattr(self, "_loaded", None)
        fields = cast(Any, self)._meta.concrete_fields
        if loaded is None or any(f.attname not in loaded for f in fields):
            return None
        return [
            f.name
            for f in fields
            if not f.primary_key
            and (isinstance(loaded[f.attname], dict | list) or getattr(self, f.attname) != loaded[f.attname])
        ]

    @property
    def resource_id(self) -> str:
        raise NotImplementedError

    @classmethod
    def history_model(cls) -> "type[StatusChange]":
        model = cast(Any, cls)._meta.get_field("history").related_model
        assert isinstance(model, type) and issubclass(model, StatusChange)
        return model


class StatusChange(models.Model):
    """Audit trail of one FSM transition of a regulated record: who or what caused it, from, to, why, when."""

    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40)
    actor = models.CharField(max_length=255)
    reason = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status} by {self.actor}"
