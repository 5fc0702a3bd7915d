"""Retention of the HTTP connector's call log (ConnectorCall): one row per call to the bank, the fastest-growing
table when the HTTP connector is on (docs/scaling.md)."""

import datetime as dt

from django.conf import settings

from connectors.models import ConnectorCall
from opusof.retention import delete_older_than, retention_cutoff


def connector_calls_purge(*, now: dt.datetime | None = None) -> int:
    """Deletes call records older than OPUSOF_CONNECTOR_CALL_RETENTION_DAYS (beat ``connector-calls-purge``)."""
    return delete_older_than(
        ConnectorCall.objects.all(),
        field="created_at",
        cutoff=retention_cutoff(days=settings.OPUSOF_CONNECTOR_CALL_RETENTION_DAYS, now=now),
    )
