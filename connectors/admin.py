"""Staff views of the sandbox bank. Money moves only through the bank (ledger rows and payments are read-only);
staff set balances, limits and behaviours to stage a scenario."""

from django.contrib import admin

from connectors.models import (
    ConnectorCall,
    SandboxAccount,
    SandboxCustomer,
    SandboxLedgerEntry,
    SandboxPayment,
    SandboxPixKey,
    SandboxPixRefund,
    SandboxQrCode,
)
from opusof.admin_base import ReadOnlyAdmin


class SandboxAccountInline(admin.TabularInline):
    model = SandboxAccount
    extra = 0
    fields = ["ispb", "issuer", "number", "account_type", "balance", "may_pay", "behaviour"]


@admin.register(SandboxCustomer)
class SandboxCustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "document", "kind", "transaction_limit", "daily_limit"]
    list_filter = ["kind"]
    search_fields = ["name", "document", "authorised_people__document"]
    filter_horizontal = ["authorised_people"]
    readonly_fields = ["password"]  # a hash; demo passwords are set by the demo loader
    inlines = [SandboxAccountInline]


@admin.register(SandboxAccount)
class SandboxAccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "balance", "may_pay", "behaviour"]
    list_filter = ["ispb", "account_type", "may_pay", "behaviour"]
    search_fields = ["number", "owner__name", "owner__document", "pix_keys__key"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]


@admin.register(SandboxPixKey)
class SandboxPixKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "key_type", "account"]
    list_filter = ["key_type"]
    search_fields = ["key", "account__number", "account__owner__name", "account__owner__document"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(SandboxQrCode)
class SandboxQrCodeAdmin(admin.ModelAdmin):
    list_display = ["txid", "kind", "status", "amount", "pix_key", "expires_at"]
    list_filter = ["kind", "status"]
    search_fields = ["txid", "location", "pix_key__key"]
    readonly_fields = ["txid", "kind", "payload", "pix_key", "creditor_account", "location", "created_at"]


@admin.register(SandboxPayment)
class SandboxPaymentAdmin(ReadOnlyAdmin):
    list_display = ["payment_id", "amount", "status", "scheduled_date", "rejection_code", "created_at"]
    list_filter = ["status", "local_instrument", "rejection_code"]
    search_fields = ["payment_id", "end_to_end_id", "idempotency_key", "debtor_account__number", "proxy"]
    date_hierarchy = "created_at"


@admin.register(SandboxLedgerEntry)
class SandboxLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "account", "direction", "amount", "balance_after", "payment"]
    list_filter = ["direction"]
    search_fields = ["account__number", "payment__payment_id", "payment__end_to_end_id"]
    list_select_related = ["account", "payment"]


@admin.register(SandboxPixRefund)
class SandboxPixRefundAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "refund_id", "end_to_end_id", "amount", "status", "debtor_account"]
    list_filter = ["status"]
    search_fields = ["refund_id", "end_to_end_id", "return_id"]
    list_select_related = ["debtor_account", "creditor_account"]


@admin.register(ConnectorCall)
class ConnectorCallAdmin(ReadOnlyAdmin):
    """Every call of the HTTP connector (route, attempt, status, latency); filter by correlation id to follow one
    TPP request (its x-fapi-interaction-id) into the bank."""

    list_display = ["created_at", "route", "attempt", "outcome", "http_status", "latency_ms", "correlation_id"]
    list_filter = ["route", "outcome", "http_status"]
    search_fields = ["correlation_id", "idempotency_key", "error_code"]
    date_hierarchy = "created_at"
