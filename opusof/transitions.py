"""The one way a regulated record (consent, payment, enrollment) changes status."""

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connections, router
from django.db.models import Model

from opusof import clock
from opusof.bulk import insert_rows_sql, update_rows, update_rows_sql, write_together
from opusof.models import AuditedStatus, StatusChange
from opusof.outbox.services import StatusChangeEvent, outbox_events_for, outbox_nudge, outbox_record_status_changes


@dataclass
class _Deferred:
    """The writes of the transitions made inside ``transitions_in_bulk``, made on leaving it."""

    tracked: set[int]  # id() of the records the block defers
    changed: dict[int, AuditedStatus] = field(default_factory=dict)
    history: list[StatusChange] = field(default_factory=list)
    events: list[StatusChangeEvent] = field(default_factory=list)


_deferred: contextvars.ContextVar[_Deferred | None] = contextvars.ContextVar("transitions_deferred", default=None)


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
    compare_and_set: bool = False,
    asynchronous: bool = False,
) -> bool:
    """Runs the FSM transition ``apply``, stamps ``status_updated_at`` (the spec's statusUpdateDateTime), saves,
    writes the history row and the outbox event, all in the caller's transaction (ARCHITECTURE: one writer of
    status per aggregate; webhook 1.2.0: the event commits or rolls back with the change); on PostgreSQL the three
    writes are one statement. Inside ``transitions_in_bulk`` the three writes of a record it tracks wait for the end
    of the block. ``compare_and_set``: the caller holds no row lock; nothing is written, and False returned, if the
    row no longer holds the status the record was read in (the caller then reads it again under the lock).
    ``asynchronous`` (outside any transaction only): see ``opusof.bulk.write_together``."""
    from_status = record.status
    apply()
    record.status_updated_at = now
    if after_apply is not None:
        after_apply()
    owner = next(f.name for f in history._meta.fields if f.is_relation and f.related_model is type(record))
    fields = {
        "from_status": from_status,
        "to_status": record.status,
        "actor": actor,
        "reason": reason,
        "created_at": now,
    }
    # A record the TPP was never shown (a payment refused at its creation, payments v4 §2.2.2) is not announced.
    announced = getattr(record, "announces_changes", True)
    events = (
        [StatusChangeEvent(record.client_id, kind, resource_id, from_status, record.status, now)] if announced else []
    )
    deferred = _deferred.get()
    if deferred is not None and id(record) in deferred.tracked:
        deferred.changed[id(record)] = record
        deferred.history.append(history(**{owner: record}, **fields))
        deferred.events.extend(events)
        return True
    row = history(**{owner: record}, **fields)
    if connections[router.db_for_write(type(record))].vendor != "postgresql":
        assert not compare_and_set, "a compare-and-set transition is PostgreSQL's (one statement)"
        _save(record)
        row.save()
        outbox_record_status_changes(events)
        return True
    return _write_together(
        record, row, events, expect_status=from_status if compare_and_set else None, asynchronous=asynchronous
    )


def _write_together(
    record: Any, row: StatusChange, changes: list[StatusChangeEvent], *, expect_status: str | None, asynchronous: bool
) -> bool:
    """The record's changed columns, its history row and its outbox events as one statement (opusof.bulk). With
    ``expect_status``, nothing is written unless the row still holds that status; False then."""
    changed = record.changed_fields() if isinstance(record, AuditedStatus) else None
    if changed is None:  # not read whole: every column
        changed = [f.name for f in type(record)._meta.concrete_fields if not f.primary_key]
    events = outbox_events_for(changes)
    statements = [
        update_rows_sql([record], changed, where_status=expect_status),
        insert_rows_sql([row], only_if="w0" if expect_status is not None else None),
    ]
    if events:
        statements.append(insert_rows_sql(events, only_if="w0" if expect_status is not None else None))
    using = router.db_for_write(type(record))
    if not write_together(statements, using=using, result=0, asynchronous=asynchronous):
        return False
    if isinstance(record, AuditedStatus):
        record.remember_saved(changed)
    outbox_nudge(events)
    return True


def insert_with_history(record: AuditedStatus, row: StatusChange) -> None:
    """Inserts a new record and its first history row (``row``, whose foreign key names ``record``): one statement
    on PostgreSQL, the history row keyed on the id the record's INSERT returns; no savepoint is taken, so a
    failure aborts the caller's transaction (which the caller then rolls back)."""
    model = cast(type[Model], type(record))
    using = router.db_for_write(model)
    if connections[using].vendor != "postgresql":
        cast(Model, record).save(force_insert=True)
        row.save()
        return
    owner = next(f for f in type(row)._meta.fields if f.is_relation and f.related_model is model)
    key = connections[using].ops.quote_name(cast(Any, model)._meta.pk.column)
    [(pk,)] = write_together(
        [
            insert_rows_sql([cast(Model, record)]),
            insert_rows_sql([row], column_sql={owner.column: f"(SELECT {key} FROM w0)"}),  # noqa: S608 - a column name from the model
        ],
        using=using,
        result=0,
    )
    cast(Any, record).pk = pk
    cast(Any, record)._state.adding = False
    record.remember_stored()


def transition(
    record: AuditedStatus,
    apply: Callable[[], None],
    *,
    actor: str,
    reason: str = "",
    now: dt.datetime | None = None,
    after_apply: Callable[[], None] | None = None,
    compare_and_set: bool = False,
    asynchronous: bool = False,
) -> bool:
    """``record_transition`` for a record that names its own history model, event kind and wire id."""
    return record_transition(
        record,
        apply,
        history=record.history_model(),
        kind=record.event_kind,
        resource_id=record.resource_id,
        actor=actor,
        reason=reason,
        now=now or clock.now(),
        after_apply=after_apply,
        compare_and_set=compare_and_set,
        asynchronous=asynchronous,
    )


def _save(record: Any) -> None:
    """Only the columns that changed since the row was read, when that is known (AuditedStatus.changed_fields)."""
    changed = record.changed_fields() if isinstance(record, AuditedStatus) else None
    if changed is None:
        record.save()
        return
    record.save(update_fields=changed)


@contextlib.contextmanager
def transitions_in_bulk(records: Sequence[AuditedStatus]) -> Iterator[None]:
    """Within the block, ``record_transition`` on any of ``records`` applies and stamps at once but its writes are
    made on leaving the block, for all of them together: one UPDATE of the fields that changed since they were
    read (AuditedStatus.changed_fields), one INSERT of history rows per history model, one INSERT of outbox events.
    For a batch handled in one transaction (the due sweep): readers see the same rows after the commit as with one
    write per record. Nothing is written if the block raises (the caller's transaction is then rolled back)."""
    deferred = _Deferred(tracked={id(record) for record in records})
    token = _deferred.set(deferred)
    try:
        yield
    finally:
        _deferred.reset(token)
    _flush(deferred)


def _flush(deferred: _Deferred) -> None:
    by_model: dict[type[Model], list[Any]] = {}
    fields: dict[type[Model], set[str]] = {}
    for record in deferred.changed.values():
        model = cast(type[Model], type(record))
        by_model.setdefault(model, []).append(record)
        changed = record.changed_fields()
        if changed is None:  # not read whole: every column
            changed = [f.name for f in model._meta.concrete_fields if not f.primary_key]
        fields.setdefault(model, set()).update(changed)
    for model, records in by_model.items():
        names = sorted(fields[model])
        update_rows(records, names)
        for record in records:
            record.remember_saved(names)
    rows: dict[type[StatusChange], list[StatusChange]] = {}
    for row in deferred.history:
        rows.setdefault(type(row), []).append(row)
    for model, history in rows.items():
        model._default_manager.bulk_create(history)
    outbox_record_status_changes(deferred.events)
