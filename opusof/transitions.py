"""The one way a regulated record (consent, payment, enrollment) changes status."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from opusof.models import StatusChange
from opusof.outbox.services import outbox_record_status_change


def record_transition(
    record: Any,
    apply: Callable[[], None],
    *,
    history: type[StatusChange],
    kind: str,
    resource_id: str,
    actor: str,
    reason: str = "",
    now: dt.datetime,
    after_apply: Callable[[], None] | None = None,
) -> None:
    """Runs the FSM transition ``apply``, stamps ``status_updated_at`` (the spec's statusUpdateDateTime), saves,
    writes the history row and the outbox event, all in the caller's transaction (ARCHITECTURE: one writer of
    status per aggregate; webhook 1.2.0: the event commits or rolls back with the change)."""
    from_status = record.status
    apply()
    record.status_updated_at = now
    if after_apply is not None:
        after_apply()
    record.save()
    owner = next(f.name for f in history._meta.fields if f.is_relation and f.related_model is type(record))
    history._default_manager.create(
        **{owner: record},
        from_status=from_status,
        to_status=record.status,
        actor=actor,
        reason=reason,
        created_at=now,
    )
    outbox_record_status_change(
        client_id=record.client_id,
        kind=kind,
        resource_id=resource_id,
        from_status=from_status,
        to_status=record.status,
        occurred_at=now,
    )
