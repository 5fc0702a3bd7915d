"""Staff views of the gateway: holders and our registration at each, applications, consents and payments with their
status history and every call made to the holder (request id, status, latency). Holder data is read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from initiator.models import (
    Application,
    ApplicationNotification,
    HolderCall,
    HolderRegistration,
    InitiatorConsent,
    InitiatorConsentStatusChange,
    InitiatorEnrollment,
    InitiatorEnrollmentStatusChange,
    InitiatorPayment,
    InitiatorPaymentStatusChange,
    Participant,
    ScheduledCharge,
    ScheduledChargeStatusChange,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentHistoryInline(ReadOnlyInline):
    model = InitiatorConsentStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class PaymentHistoryInline(ReadOnlyInline):
    model = InitiatorPaymentStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class CallInline(ReadOnlyInline):
    model = HolderCall
    fields = ("created_at", "operation", "method", "url", "interaction_id", "status_code", "latency_ms", "error")
    ordering = ("created_at",)


class ConsentCallInline(CallInline):
    fk_name = "consent"


class PaymentCallInline(CallInline):
    fk_name = "payment"


class EnrollmentHistoryInline(ReadOnlyInline):
    model = InitiatorEnrollmentStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class EnrollmentCallInline(CallInline):
    fk_name = "enrollment"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ("friendly_name", "authorisation_server_id", "organisation_name", "active", "refreshed_at")
    list_filter = ("active",)
    search_fields = ("friendly_name", "authorisation_server_id", "organisation_id", "registration_number")


@admin.register(HolderRegistration)
class HolderRegistrationAdmin(ReadOnlyAdmin):
    list_display = ("participant", "client_id", "dcm_version", "dcm_status", "updated_at")
    exclude = ("registration_access_token",)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "redirect_identifier", "fqdn", "webhook_url", "active")
    list_filter = ("active",)
    search_fields = ("name", "redirect_identifier", "fqdn", "external_client_id")
    readonly_fields = ("id", "credential_hash", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # An application is created with its credential, shown once: manage.py initiator_application.
        return False


@admin.register(InitiatorConsent)
class InitiatorConsentAdmin(ReadOnlyAdmin):
    list_display = ("consent_id", "product", "status", "application", "participant", "created_at", "status_updated_at")
    list_filter = ("product", "status", "participant", "application")
    search_fields = ("consent_id",)
    exclude = ("code_verifier", "access_token", "refresh_token", "state", "nonce")
    inlines = [ConsentHistoryInline, ConsentCallInline]


@admin.register(InitiatorEnrollment)
class InitiatorEnrollmentAdmin(ReadOnlyAdmin):
    """Everything the holder reported is read-only here: an enrollment is rejected or revoked through the holder
    (PATCH /enrollments/{id}), never edited. The journey's secrets are not shown."""

    list_display = (
        "enrollment_id",
        "status",
        "logged_user_document",
        "application",
        "participant",
        "cancellation_reason",
        "created_at",
        "status_updated_at",
    )
    list_filter = ("status", "participant", "application", "cancellation_reason")
    search_fields = ("enrollment_id", "logged_user_document", "business_entity_document")
    exclude = ("code_verifier", "access_token", "refresh_token", "state", "nonce")
    inlines = [EnrollmentHistoryInline, EnrollmentCallInline]


@admin.register(InitiatorPayment)
class InitiatorPaymentAdmin(ReadOnlyAdmin):
    list_display = ("payment_id", "status", "application", "consent", "holder_status_code", "created_at")
    list_filter = ("status", "application", "consent__participant")
    search_fields = ("payment_id", "idempotency_key", "consent__consent_id")
    inlines = [PaymentHistoryInline, PaymentCallInline]


class ChargeHistoryInline(ReadOnlyInline):
    model = ScheduledChargeStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


@admin.register(ScheduledCharge)
class ScheduledChargeAdmin(ReadOnlyAdmin):
    list_display = ("due_date", "amount", "reference", "status", "attempts", "consent", "application", "send_from")
    list_filter = ("status", "application")
    search_fields = ("reference", "consent__consent_id", "original_payment_id")
    inlines = [ChargeHistoryInline]


@admin.register(HolderCall)
class HolderCallAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "participant", "operation", "method", "status_code", "latency_ms", "interaction_id")
    list_filter = ("participant", "operation", "status_code")
    search_fields = ("interaction_id", "idempotency_key", "url")


@admin.register(ApplicationNotification)
class ApplicationNotificationAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "application", "kind", "resource_id", "to_status", "state", "attempts")
    list_filter = ("state", "kind", "application")
