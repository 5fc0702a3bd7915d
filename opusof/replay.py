"""The ``jti`` replay store: a ``jti`` is accepted once per (scope, issuer) until its record expires.

Kept in PostgreSQL (``UsedJti``), not in the cache: a Redis restart (``--save ""``) would forget every record and
reopen the 24 h window payments v4 "Validações" 1.2.4.2 asks for. One statement decides, atomically across
processes: ``INSERT … ON CONFLICT DO UPDATE … WHERE expired`` writes a row only when the ``jti`` is new or its
record has expired, so of two concurrent requests with one ``jti`` exactly one sees a written row.

Called while the request runs in autocommit (the body is verified before any service opens a transaction), so
the record stays even when the request then fails. Expired rows are deleted by beat (``jti-purge``).
"""

import datetime as dt

from django.db import connection
from django.utils import timezone

from opusof.models import UsedJti
from opusof.retention import delete_older_than

_TABLE = UsedJti._meta.db_table
# Names from the model's metadata only; every value is a parameter.
_CLAIM_SQL = (
    f"INSERT INTO {_TABLE} (scope, issuer, jti, expires_at) VALUES (%s, %s, %s, %s) "  # noqa: S608
    f"ON CONFLICT (scope, issuer, jti) DO UPDATE SET expires_at = EXCLUDED.expires_at "
    f"WHERE {_TABLE}.expires_at <= %s"
)
# PostgreSQL, outside a transaction: the record commits without waiting for the disk (synchronous_commit off for
# this statement's own transaction). Whatever the request then makes durable is written to the WAL after it, and a
# commit that waits for the disk flushes everything written before it: a request's effects never survive a crash of
# the database server without its jti (docs/scaling.md, "Commits that do not wait for the disk").
_ASYNC_CLAIM_SQL = _CLAIM_SQL + " RETURNING (SELECT set_config('synchronous_commit', 'off', true))"


def jti_first_use(*, scope: UsedJti.Scope, issuer: str, jti: str, ttl_seconds: float) -> bool:
    """Records ``jti`` for ``ttl_seconds``; False when ``issuer`` already used it in ``scope`` and the record is
    still live (a replay)."""
    now = timezone.now()
    field = UsedJti._meta.get_field("expires_at")
    expires_at = field.get_db_prep_value(now + dt.timedelta(seconds=ttl_seconds), connection)
    asynchronous = connection.vendor == "postgresql" and not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(
            _ASYNC_CLAIM_SQL if asynchronous else _CLAIM_SQL,
            [str(scope), issuer, jti, expires_at, field.get_db_prep_value(now, connection)],
        )
        return cursor.rowcount == 1


def used_jtis_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes expired records (beat ``jti-purge``); returns how many went."""
    return delete_older_than(UsedJti.objects.all(), field="expires_at", cutoff=now or timezone.now(), inclusive=True)
