"""Staff views of recurring consents and payments: read-only, changes only through services (with history)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from opusof.admin_base import ReadOnlyAdmin, StatusHistoryInline
from recurring.models import (
    Actor,
    Channel,
    ConsentRevocationCode,
    RecurringConsent,
    RecurringConsentStatusChange,
    RecurringPayment,
    RecurringPaymentStatusChange,
)
from recurring.services.amendments import recurring_consent_revoke
from recurring.services.cancellation import recurring_payment_cancel


class RecurringConsentStatusChangeInline(StatusHistoryInline):
    model = RecurringConsentStatusChange


class RecurringPaymentStatusChangeInline(StatusHistoryInline):
    model = RecurringPaymentStatusChange


@admin.register(RecurringConsent)
class RecurringConsentAdmin(ReadOnlyAdmin):
    list_display = ("recurring_consent_id", "status", "product", "client", "logged_user_document", "created_at")
    list_filter = (
        "status",
        "product",
        "client",
        "rejection_code",
        "revocation_code",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("recurring_consent_id", "logged_user_document", "business_entity_document")
    date_hierarchy = "created_at"
    inlines = [RecurringConsentStatusChangeInline]
    actions = ["revoke"]

    @admin.action(description="Revogar consentimento (detentora)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[RecurringConsent]) -> None:
        def revoke(consent: RecurringConsent) -> None:
            recurring_consent_revoke(
                recurring_consent_id=consent.recurring_consent_id,
                code=ConsentRevocationCode.NAO_INFORMADO,
                detail="Revogado pela detentora.",
                revoked_by=Actor.DETENTORA,
                revoked_from=Channel.DETENTORA,
                actor=f"staff:{request.user.get_username()}",
            )

        self.apply_service(request, queryset, revoke, done="{} consentimento(s) revogado(s).")


@admin.register(RecurringPayment)
class RecurringPaymentAdmin(ReadOnlyAdmin):
    list_display = ("recurring_payment_id", "status", "client", "amount", "date", "payment_reference", "created_at")
    list_filter = (
        "status",
        "refused_at_creation",
        "needs_attention",
        "client",
        "local_instrument",
        "rejection_reason",
        ("date", admin.DateFieldListFilter),
    )
    search_fields = (
        "recurring_payment_id",
        "end_to_end_id",
        "original_recurring_payment_id",
        "consent__recurring_consent_id",
        "consent__logged_user_document",
    )
    date_hierarchy = "created_at"
    inlines = [RecurringPaymentStatusChangeInline]

    actions = ["cancel_scheduled"]

    @admin.action(description="Cancelar cobranças agendadas/pendentes (detentora)")
    def cancel_scheduled(self, request: HttpRequest, queryset: QuerySet[RecurringPayment]) -> None:
        def cancel(payment: RecurringPayment) -> None:
            recurring_payment_cancel(
                recurring_payment_id=payment.recurring_payment_id,
                client=None,
                cancelled_from=Channel.DETENTORA,
                # Staff act for the payer, whose document cancelledBy carries (payer deadline: 23:59 the eve).
                document=payment.consent.logged_user_document,
                rel="CPF",
                actor=f"staff:{request.user.get_username()}",
            )

        self.apply_service(request, queryset.select_related("consent"), cancel, done="{} cobrança(s) cancelada(s).")
