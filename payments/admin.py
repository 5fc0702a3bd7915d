from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from connectors.interfaces import ConnectorUnavailable
from opusof.admin_base import ReadOnlyAdmin, StatusHistoryInline
from payments.cancellation import payment_cancel
from payments.models import BankDiscrepancy, CancelledFrom, PaymentPollState, PaymentStatusChange, PixPayment
from payments.reconciliation import ReconciliationReport, discrepancies_recheck


class PaymentStatusChangeInline(StatusHistoryInline):
    model = PaymentStatusChange


@admin.register(PixPayment)
class PixPaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "payment_id",
        "status",
        "client",
        "amount",
        "scheduled_date",
        "end_to_end_id",
        "refused_at_creation",
        "created_at",
    )
    list_filter = (
        "status",
        "refused_at_creation",
        "needs_attention",
        "client",
        "local_instrument",
        "rejection_reason",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "payment_id",
        "end_to_end_id",
        "consent__consent_id",
        "consent__logged_user_document",
        "consent__business_entity_document",
        "consent__creditor_document",
    )
    date_hierarchy = "created_at"
    inlines = [PaymentStatusChangeInline]
    actions = ["cancel_scheduled"]

    @admin.action(description="Cancelar pagamentos agendados/pendentes (detentora)")
    def cancel_scheduled(self, request: HttpRequest, queryset: QuerySet[PixPayment]) -> None:
        def cancel(payment: PixPayment) -> None:
            payment_cancel(
                payment_id=payment.payment_id,
                client=None,
                cancelled_from=CancelledFrom.DETENTORA,
                # The staff member acts for the account holder, whose CPF the spec's cancelledBy requires.
                document=payment.consent.logged_user_document,
                rel="CPF",
                actor=f"staff:{request.user.get_username()}",
            )

        self.apply_service(request, queryset.select_related("consent"), cancel, done="{} pagamento(s) cancelado(s).")


@admin.register(PaymentPollState)
class PaymentPollStateAdmin(ReadOnlyAdmin):
    """Payments the bank has left open: filter on "needs attention" for those past the polling ceiling."""

    list_display = (
        "polled",
        "payment_status",
        "needs_attention",
        "attempts",
        "last_polled_at",
        "next_poll_at",
        "last_error",
    )
    list_filter = ("needs_attention", "payment__status", "recurring_payment__status")
    search_fields = (
        "payment__payment_id",
        "payment__end_to_end_id",
        "recurring_payment__recurring_payment_id",
        "recurring_payment__end_to_end_id",
    )
    list_select_related = ("payment", "recurring_payment")

    @admin.display(description="pagamento")
    def polled(self, obj: PaymentPollState) -> str:
        return str(obj.polled)

    @admin.display(description="situação")
    def payment_status(self, obj: PaymentPollState) -> str:
        return str(obj.polled.status)


@admin.register(BankDiscrepancy)
class BankDiscrepancyAdmin(ReadOnlyAdmin):
    """What ``manage.py reconcile_bank`` found (docs/reconciliation.md); changed only by re-checking."""

    list_display = (
        "payment_id",
        "kind",
        "state",
        "record",
        "our_status",
        "bank_status",
        "our_amount",
        "bank_amount",
        "end_to_end_id",
        "checked_at",
    )
    list_filter = ("state", "kind", "record", "our_status", "bank_status", ("found_at", admin.DateFieldListFilter))
    search_fields = ("payment_id", "end_to_end_id", "bank_reference")
    date_hierarchy = "found_at"
    actions = ["recheck", "recheck_and_apply"]

    @admin.action(description="Consultar a detentora novamente")
    def recheck(self, request: HttpRequest, queryset: QuerySet[BankDiscrepancy]) -> None:
        self._recheck(request, queryset, apply=False)

    @admin.action(description="Consultar a detentora e seguir o status dela (FSM)")
    def recheck_and_apply(self, request: HttpRequest, queryset: QuerySet[BankDiscrepancy]) -> None:
        self._recheck(request, queryset, apply=True)

    def _recheck(self, request: HttpRequest, queryset: QuerySet[BankDiscrepancy], *, apply: bool) -> None:
        try:
            report: ReconciliationReport = discrepancies_recheck(discrepancies=list(queryset), apply=apply)
        except ConnectorUnavailable as exc:
            self.message_user(request, f"Detentora indisponível: {exc}", messages.ERROR)
            return
        self.message_user(
            request,
            f"{report.checked} verificado(s): {len(report.still_open)} divergência(s) aberta(s), "
            f"{len(report.resolved)} resolvida(s), {len(report.unchecked)} sem resposta.",
            messages.WARNING if not report.clean else messages.SUCCESS,
        )
