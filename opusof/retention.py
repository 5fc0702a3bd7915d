"""Deleting what has outlived its use, in batches: the one helper every retention task calls (docs/scaling.md).

Each batch is its own short transaction over at most ``OPUSOF_RETENTION_BATCH_SIZE`` primary keys, so a purge of a
large backlog never holds locks on millions of rows nor a transaction open for minutes beside the request path.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone


def retention_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The instant before which a row kept ``days`` days is due for deletion."""
    return (now or timezone.now()) - dt.timedelta(days=days)


def delete_older_than(
    queryset: "models.QuerySet[Any]",
    *,
    field: str,
    cutoff: dt.datetime,
    inclusive: bool = False,
    batch_size: int | None = None,
) -> int:
    """Deletes the rows of ``queryset`` whose ``field`` is before ``cutoff`` (at or before, when ``inclusive``),
    ``batch_size`` rows per transaction; returns how many rows of the queryset's model went (cascades not counted).
    """
    size = batch_size or int(settings.OPUSOF_RETENTION_BATCH_SIZE)
    due = queryset.filter(**{f"{field}__{'lte' if inclusive else 'lt'}": cutoff}).order_by()
    model = queryset.model
    deleted = 0
    while True:
        with transaction.atomic():
            pks = list(due.values_list("pk", flat=True)[:size])
            if not pks:
                return deleted
            _, per_model = model._default_manager.filter(pk__in=pks).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(pks) < size:
            return deleted
