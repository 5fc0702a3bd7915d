"""Staff views of the authorisation server's records: read-only (codes and tokens are stored as hashes only), plus
revoking refresh tokens. Clients themselves are shown, edited and disabled in the TppClient admin."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from opusof.admin_base import ReadOnlyAdmin
from opusof.authserver.models import AuthorisationCode, ClientAuthSettings, PushedAuthorisationRequest, RefreshToken


@admin.register(ClientAuthSettings)
class ClientAuthSettingsAdmin(ReadOnlyAdmin):
    list_display = ("client", "token_endpoint_auth_method", "tls_client_auth_subject_dn")
    search_fields = ("client__client_id", "client__name", "tls_client_auth_subject_dn")
    exclude = ("registration_access_token_hash",)


@admin.register(PushedAuthorisationRequest)
class PushedAuthorisationRequestAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "client", "consent_id", "redirect_uri", "expires_at", "used_at")
    list_filter = ("client",)
    search_fields = ("consent_id", "client__client_id")
    date_hierarchy = "created_at"


@admin.register(AuthorisationCode)
class AuthorisationCodeAdmin(ReadOnlyAdmin):
    list_display = ("auth_time", "client", "consent_id", "expires_at", "used_at")
    search_fields = ("consent_id", "client__client_id")
    exclude = ("code_hash",)


@admin.action(description="Revogar os refresh tokens selecionados")
def revoke_refresh_tokens(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "client", "consent_id", "expires_at", "revoked_at")
    list_filter = ("client",)
    search_fields = ("consent_id", "client__client_id")
    exclude = ("token_hash",)
    actions = [revoke_refresh_tokens]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The changelist action needs change permission; the form itself stays read-only (no editable fields).
        return bool(request.user.is_staff and obj is None)
