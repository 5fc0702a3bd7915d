"""Staff views of the TPP registry, issued tokens and idempotency records. Writes go through services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from opusof.admin_base import ReadOnlyAdmin
from opusof.models import AccessToken, IdempotencyRecord, TppClient
from opusof.services import tpp_client_register, tpp_client_set_status, tpp_client_validate
from opusof.tokens import access_token_revoke

_REGISTER_FIELDS = (
    "client_id",
    "organisation_id",
    "name",
    "organisation_name",
    "software_statement_id",
    "redirect_uris",
    "webhook_uris",
    "jwks",
    "jwks_uri",
    "scopes",
    "roles",
    "status",
)


class TppClientForm(ModelForm):
    jwks_uri = forms.URLField(required=False, max_length=1024, assume_scheme="https")

    class Meta:
        model = TppClient
        fields = _REGISTER_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors:
            return cleaned
        # Validate as the service will, so errors show on the form rather than as a 500.
        fields = {field: cleaned.get(field) for field in _REGISTER_FIELDS}
        if not self.instance._state.adding:  # client_id is read-only on change
            fields["client_id"] = self.instance.client_id
        tpp_client_validate(**{key: value for key, value in fields.items() if value is not None})
        return cleaned


@admin.register(TppClient)
class TppClientAdmin(admin.ModelAdmin):
    form = TppClientForm
    list_display = ("name", "client_id", "organisation_id", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("client_id", "organisation_id", "name", "organisation_name")
    readonly_fields = ("id", "created_at", "updated_at")
    actions = ("disable_clients", "enable_clients")

    def get_readonly_fields(self, request: HttpRequest, obj: TppClient | None = None) -> tuple[str, ...]:
        # client_id is the registry key the service upserts on; changing it would register a different client.
        return (*self.readonly_fields, "client_id") if obj is not None else tuple(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: TppClient, form: Any, change: bool) -> None:
        saved = tpp_client_register(**{field: getattr(obj, field) for field in _REGISTER_FIELDS})
        obj.pk = saved.pk
        obj.created_at = saved.created_at
        obj.updated_at = saved.updated_at
        obj._state.adding = False

    @admin.action(description="Desativar as iniciadoras selecionadas (seus tokens deixam de valer)")
    def disable_clients(self, request: HttpRequest, queryset: QuerySet[TppClient]) -> None:
        for client in queryset:
            tpp_client_set_status(client=client, status=TppClient.Status.INACTIVE)
        self.message_user(request, f"{queryset.count()} iniciadora(s) desativada(s).", messages.SUCCESS)

    @admin.action(description="Reativar as iniciadoras selecionadas")
    def enable_clients(self, request: HttpRequest, queryset: QuerySet[TppClient]) -> None:
        for client in queryset:
            tpp_client_set_status(client=client, status=TppClient.Status.ACTIVE)
        self.message_user(request, f"{queryset.count()} iniciadora(s) reativada(s).", messages.SUCCESS)


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    # token_hash is never shown: it is the lookup key of a live token.
    fields = (
        "client",
        "grant_type",
        "scopes",
        "consent_id",
        "cert_thumbprint",
        "expires_at",
        "revoked_at",
        "created_at",
    )
    list_display = ("id", "client", "grant_type", "consent_id", "expires_at", "revoked_at", "created_at")
    list_filter = ("grant_type",)
    search_fields = ("client__client_id", "client__organisation_id", "consent_id")
    list_select_related = ("client",)
    actions = ("revoke_tokens",)

    @admin.action(description="Revogar os tokens selecionados")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        for token in queryset:
            access_token_revoke(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revogado(s).", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ("endpoint", "key", "client", "response_status", "created_at", "expires_at")
    list_filter = ("endpoint", "response_status")
    search_fields = ("key", "client__client_id", "client__organisation_id")
    list_select_related = ("client",)
