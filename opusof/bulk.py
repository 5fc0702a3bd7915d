"""Writing many rows, each with its own values, in one statement; and several writes as one statement.

``update_rows`` and ``insert_rows`` run one statement each; their ``*_sql`` forms return the statement and its
parameters so that ``write_together`` can send several writes (an UPDATE, the history INSERT, the outbox INSERT) to
PostgreSQL as one statement of data-modifying CTEs: one round trip instead of three on the hottest paths. The
statements of one ``write_together`` all see the snapshot taken before any of them: they must not read or write
the same rows as each other (PostgreSQL, "Data-Modifying Statements in WITH")."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model


@dataclass(frozen=True)
class Statement:
    """One SQL statement and its parameters; only names from models' metadata are interpolated into ``sql``."""

    sql: str
    params: list[Any]


def _connection(model: type[Model]) -> BaseDatabaseWrapper:
    return connections[router.db_for_write(model)]


def update_rows_sql(records: Sequence[Model], fields: Sequence[str], *, where_status: str | None = None) -> Statement:
    """``update_rows``'s statement (PostgreSQL). ``where_status``: only rows whose ``status`` column still holds
    that value are written (a compare-and-set in place of a row lock read first); it returns their keys."""
    model = type(records[0])
    connection = _connection(model)
    meta = model._meta
    concrete = {field.name: field for field in meta.concrete_fields}
    pk = next(field for field in meta.concrete_fields if field.primary_key)
    columns = [pk, *(concrete[name] for name in fields)]
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(pk.column)
    row = "(" + ", ".join(f"CAST(%s AS {column.db_type(connection)})" for column in columns) + ")"
    condition = f"{table}.{key} = v.{key}"
    params = [
        column.get_db_prep_save(getattr(record, column.attname), connection) for record in records for column in columns
    ]
    if where_status is not None:
        condition += f" AND {table}.{quote(concrete['status'].column)} = %s"
        params.append(where_status)
    sql = (
        f"UPDATE {table} SET {', '.join(f'{quote(c.column)} = v.{quote(c.column)}' for c in columns[1:])} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(records))}) AS v({', '.join(quote(c.column) for c in columns)}) "
        f"WHERE {condition} RETURNING {table}.{key}"
    )
    return Statement(sql, params)


def update_rows(records: Sequence[Model], fields: Sequence[str]) -> None:
    """Saves ``fields`` of each of ``records`` (all of one model) with one ``UPDATE ... FROM (VALUES ...)`` on
    PostgreSQL. Django's ``bulk_update`` builds a CASE per field with one WHEN per row and resolves each in Python:
    for a due-sweep batch of 500 payments that took longer than everything else in the batch together."""
    if not records or not fields:
        return
    model = type(records[0])
    if _connection(model).vendor != "postgresql":
        model._default_manager.bulk_update(records, fields)
        return
    write_together([update_rows_sql(records, fields)])


def insert_rows_sql(
    records: Sequence[Model],
    *,
    on_conflict_do_nothing: bool = False,
    column_sql: dict[str, str] | None = None,
    only_if: str | None = None,
) -> Statement:
    """One ``INSERT`` of ``records`` (all of one model, new rows) returning their primary keys, as ``save`` would
    write them (``pre_save``: ``auto_now_add`` stamps). ``column_sql`` gives some columns an SQL expression instead of
    the record's value, e.g. the key of a row an earlier CTE of the same ``write_together`` inserts:
    ``{"payment_id": "(SELECT id FROM w0)"}``. ``only_if``: an earlier CTE; nothing is inserted unless it returned
    a row (the history of an update that found its row still in the status it was sent from)."""
    model = type(records[0])
    connection = _connection(model)
    meta = model._meta
    quote = connection.ops.quote_name
    pk = meta.pk
    assert pk is not None
    # A serial key is the database's to give; a key the model makes (a UUID default) is written.
    columns = [
        field for field in meta.concrete_fields if not (field.primary_key and getattr(field, "db_returning", False))
    ]
    expressions = column_sql or {}
    params: list[Any] = []
    rows = []
    for record in records:
        cells = []
        for field in columns:
            if field.column in expressions:
                cells.append(expressions[field.column])
                continue
            cells.append(f"CAST(%s AS {field.db_type(connection)})")
            params.append(field.get_db_prep_save(field.pre_save(record, True), connection))
        rows.append("(" + ", ".join(cells) + ")")
    values = f"VALUES {', '.join(rows)}"
    if only_if is not None:
        values = f"SELECT * FROM ({values}) AS v WHERE EXISTS (SELECT 1 FROM {only_if})"  # noqa: S608
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) {values}"
        + (" ON CONFLICT DO NOTHING" if on_conflict_do_nothing else "")
        + f" RETURNING {quote(pk.column)}"
    )
    return Statement(sql, params)


def insert_rows(records: Sequence[Model], *, on_conflict_do_nothing: bool = False) -> list[Any]:
    """Inserts ``records`` with one statement (PostgreSQL) and sets their primary keys; returns the keys written
    (with ``on_conflict_do_nothing``, a record that conflicted gets none and is not listed)."""
    statement = insert_rows_sql(records, on_conflict_do_nothing=on_conflict_do_nothing)
    with _connection(type(records[0])).cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) == len(records):
        for record, key in zip(records, keys, strict=True):
            record.pk = key
            record._state.adding = False
    return keys


def write_together(
    statements: Sequence[Statement], *, using: str = "default", asynchronous: bool = False, result: int = -1
) -> Any:
    """Runs ``statements`` (PostgreSQL writes, each ending in RETURNING) as one statement of data-modifying CTEs
    ``w0``, ``w1``, ... (every one runs, referenced or not); returns the rows the one at index ``result`` (the last
    by default) returned.

    ``asynchronous``: the statement's own transaction (autocommit) commits with ``synchronous_commit`` off,
    without waiting for its WAL to reach the disk: only for records whose loss in a crash of the database server is
    repaired by asking the bank again or by a retry (docs/scaling.md, "Commits that do not wait for the disk");
    never for the record of a payment before the bank is called. Ignored inside a transaction."""
    # Inside a transaction the setting would reach the caller's other writes: the statement commits as they do.
    asynchronous = asynchronous and not connections[using].in_atomic_block
    if len(statements) == 1 and not asynchronous:
        sql, params = statements[0].sql, list(statements[0].params)
    else:
        parts = [f"w{index} AS ({statement.sql})" for index, statement in enumerate(statements)]
        params = [param for statement in statements for param in statement.params]
        last = f"w{range(len(statements))[result]}"
        if asynchronous:
            # A one-time filter: evaluated once, before the last CTE's rows are read.
            parts.append("sync AS (SELECT set_config('synchronous_commit', 'off', true) AS setting)")
            sql = f"WITH {', '.join(parts)} SELECT * FROM {last} WHERE (SELECT setting FROM sync) IS NOT NULL"  # noqa: S608
        else:
            sql = f"WITH {', '.join(parts)} SELECT * FROM {last}"  # noqa: S608
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
