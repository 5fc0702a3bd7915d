"""Admin building blocks for regulated records: staff read them, and change them only through actions that call
services (FSM transition + history), never through a form."""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest

from opusof.errors import RegulatedError


class ReadOnlyAdmin(admin.ModelAdmin):
    def apply_service(
        self, request: HttpRequest, rows: Iterable[Model], act: Callable[[Any], object], *, done: str
    ) -> None:
        """Runs an action's service on each row: a regulated refusal (e.g. a final status) is reported for that row
        and the others still run; ``done`` is the success message, formatted with the count."""
        count, refused = 0, []
        for row in rows:
            try:
                act(row)
                count += 1
            except RegulatedError as exc:
                refused.append(f"{row}: {exc.detail}")
        if count:
            self.message_user(request, done.format(count), messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatusHistoryInline(admin.TabularInline):
    """The FSM history of the record (opusof.models.StatusChange rows), oldest first."""

    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
