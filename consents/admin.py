from django.contrib import admin

from consents.models import ConsentStatusChange, PaymentConsent


class ConsentStatusChangeInline(admin.TabularInline):
    model = ConsentStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PaymentConsent)
class PaymentConsentAdmin(admin.ModelAdmin):
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

    # Regulated records: staff read them; changes go through services (FSM + history), never a form.
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
