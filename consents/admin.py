from django.contrib import admin

from consents.models import ConsentStatusChange, PaymentConsent
from opusof.admin_base import ReadOnlyAdmin, StatusHistoryInline


class ConsentStatusChangeInline(StatusHistoryInline):
    model = ConsentStatusChange


@admin.register(PaymentConsent)
class PaymentConsentAdmin(ReadOnlyAdmin):
    list_display = ("consent_id", "status", "client", "amount", "local_instrument", "created_at", "expires_at")
    list_filter = (
        "status",
        "client",
        "local_instrument",
        "rejection_reason",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("consent_id", "logged_user_document", "business_entity_document", "creditor_document")
    date_hierarchy = "created_at"
    inlines = [ConsentStatusChangeInline]
