"""Staff views of outbox events and webhook attempts; the only write is a replay (a new attempt)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from opusof.admin_base import ReadOnlyAdmin
from opusof.outbox.models import OutboxEvent, PaymentPollState, WebhookDelivery
from opusof.outbox.services import outbox_replay


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "attempt",
        "created_at",
        "trigger",
        "url",
        "interaction_id",
        "status_code",
        "latency_ms",
        "outcome",
        "error",
    )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _report(modeladmin: admin.ModelAdmin, request: HttpRequest, event_ids: list[str]) -> None:
    results = outbox_replay(event_ids=event_ids)
    for result in results:
        level = messages.SUCCESS if result.outcome == "DELIVERED" else messages.WARNING
        modeladmin.message_user(request, f"{result.event_id}: {result.outcome} {result.status_code or ''}", level)
    skipped = len(event_ids) - len(results)
    if skipped:
        modeladmin.message_user(request, f"{skipped} evento(s) em envio por outro processo.", messages.WARNING)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "resource_id", "to_status", "client", "state", "attempts", "next_attempt_at")
    list_filter = ("state", "kind", "to_status", "client", ("created_at", admin.DateFieldListFilter))
    search_fields = ("id", "resource_id", "url")
    date_hierarchy = "created_at"
    inlines = [WebhookDeliveryInline]
    actions = ["replay"]

    @admin.action(description="Reenviar webhook (nova tentativa, mesmo id de evento)")
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        _report(self, request, [str(pk) for pk in queryset.values_list("pk", flat=True)])


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "attempt", "url", "status_code", "latency_ms", "outcome", "trigger")
    list_filter = ("outcome", "trigger", "status_code", ("created_at", admin.DateFieldListFilter))
    search_fields = ("event__id", "event__resource_id", "url", "interaction_id")
    date_hierarchy = "created_at"
    actions = ["replay"]

    @admin.action(description="Reenviar o evento destas tentativas")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        _report(self, request, [str(pk) for pk in queryset.values_list("event_id", flat=True).distinct()])


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
