"""Staff views of enrollments: list, detail with the status history and the credential, and a revocation action
that goes through the same service as the API (as the holder, DETENTORA)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from enrollments.models import (
    CancelledFrom,
    Enrollment,
    EnrollmentRejectionReason,
    EnrollmentRevocationReason,
    EnrollmentStatus,
    EnrollmentStatusChange,
)
from enrollments.services import enrollment_cancel
from opusof.admin_base import ReadOnlyAdmin, StatusHistoryInline


class EnrollmentStatusChangeInline(StatusHistoryInline):
    model = EnrollmentStatusChange


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = (
        "enrollment_id",
        "status",
        "client",
        "logged_user_document",
        "debtor_number",
        "transaction_limit",
        "daily_limit",
        "created_at",
    )
    list_filter = ("status", "client", "cancellation_reason", ("created_at", admin.DateFieldListFilter))
    search_fields = ("enrollment_id", "logged_user_document", "business_entity_document", "debtor_number")
    date_hierarchy = "created_at"
    inlines = [EnrollmentStatusChangeInline]
    actions = ["revoke_or_reject"]

    @admin.action(description="Revogar/rejeitar vínculos (segurança interna da detentora)")
    def revoke_or_reject(self, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
        def cancel(enrollment: Enrollment) -> None:
            authorised = enrollment.status == EnrollmentStatus.AUTHORISED
            enrollment_cancel(
                enrollment_id=enrollment.enrollment_id,
                client=None,
                rejection_reason=None if authorised else EnrollmentRejectionReason.REJEITADO_SEGURANCA_INTERNA,
                revocation_reason=EnrollmentRevocationReason.REVOGADO_SEGURANCA_INTERNA if authorised else None,
                cancelled_from=CancelledFrom.DETENTORA,
                actor=f"staff:{request.user.get_username()}",
            )

        self.apply_service(request, queryset, cancel, done="{} vínculo(s) cancelado(s).")
