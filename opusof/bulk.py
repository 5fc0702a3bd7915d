"""Writing many rows, each with its own values, in one statement."""

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model


def update_rows(records: Sequence[Model], fields: Sequence[str]) -> None:
    """Saves ``fields`` of each of ``records`` (all of one model) with one ``UPDATE ... FROM (VALUES ...)`` on
    PostgreSQL. Django's ``bulk_update`` builds a CASE per field with one WHEN per row and resolves each in Python:
    for a due-sweep batch of 500 payments that took longer than everything else in the batch together."""
    if not records or not fields:
        return
    model = type(records[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(records, fields)
        return
    meta = model._meta
    concrete = {field.name: field for field in meta.concrete_fields}
    pk = next(field for field in meta.concrete_fields if field.primary_key)
    columns = [pk, *(concrete[name] for name in fields)]
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(pk.column)
    row = "(" + ", ".join(f"CAST(%s AS {column.db_type(connection)})" for column in columns) + ")"
    # Only names from the model's metadata are interpolated; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {', '.join(f'{quote(c.column)} = v.{quote(c.column)}' for c in columns[1:])} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(records))}) AS v({', '.join(quote(c.column) for c in columns)}) "
        f"WHERE {table}.{key} = v.{key}"
    )
    params = [
        column.get_db_prep_save(getattr(record, column.attname), connection) for record in records for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
