"""Staff views of the merchant APIs: merchants (secrets never shown), plans with their parcels and status history,
and the webhook outbox. Status is read-only: it changes only through the services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from merchant.models import (
    BeneficiaryAccount,
    Customer,
    Merchant,
    MerchantWebhook,
    Parcel,
    ParcelStatusChange,
    Plan,
    PlanStatusChange,
    Refund,
    RefundStatusChange,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlanHistoryInline(ReadOnlyInline):
    model = PlanStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class ParcelInline(ReadOnlyInline):
    model = Parcel
    fields = ("sequence", "date", "amount", "end_to_end_id", "payment_id", "status", "rejection_reason", "replaces")


class ParcelHistoryInline(ReadOnlyInline):
    model = ParcelStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ("refund_id", "amount", "status", "return_id", "rejection_reason", "created_at")


class RefundHistoryInline(ReadOnlyInline):
    model = RefundStatusChange
    fields = ("created_at", "from_status", "to_status", "actor", "reason")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "redirect_url", "webhook_url", "webhook_security", "active")
    exclude = ("client_secret_hash", "webhook_secret")
    readonly_fields = ("client_id", "application")


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ("id", "merchant", "dialect", "recurrence", "amount", "status", "created_at")
    list_filter = ("status", "dialect", "recurrence")
    search_fields = ("id", "consent_id", "own_id", "payer_cpf")
    inlines = [ParcelInline, PlanHistoryInline]


@admin.register(Parcel)
class ParcelAdmin(ReadOnlyAdmin):
    list_display = ("end_to_end_id", "plan", "sequence", "date", "amount", "status")
    list_filter = ("status",)
    search_fields = ("end_to_end_id", "payment_id")
    inlines = [RefundInline, ParcelHistoryInline]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("refund_id", "merchant", "parcel", "amount", "status", "attempts", "next_poll_at", "created_at")
    list_filter = ("status", "dialect")
    search_fields = ("refund_id", "return_id", "parcel__end_to_end_id")
    inlines = [RefundHistoryInline]


@admin.register(MerchantWebhook)
class MerchantWebhookAdmin(ReadOnlyAdmin):
    list_display = ("id", "merchant", "plan", "state", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("state",)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("name", "identifier", "customer_type", "merchant", "created_at")
    search_fields = ("identifier", "name")


@admin.register(BeneficiaryAccount)
class BeneficiaryAccountAdmin(ReadOnlyAdmin):
    list_display = ("holder_name", "ispb", "issuer", "number", "account_type", "merchant")
    search_fields = ("holder_identifier", "number")
