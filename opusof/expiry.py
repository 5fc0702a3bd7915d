"""The one expiry kit of the holder's regulated records (payment consents, recurring consents, enrollments).

Each record has a window after which it ends without anyone acting (a consent not authorised in time, an
enrollment left waiting). The beat sweep ends it on time; a service that locks the row applies a due expiry first;
and a read through ``refresh`` applies it too, so an answer is right even when no worker sweeps. The kit is the
machinery (lock, is-due, expire, refresh, sweep); what "due" means and which transition ends the record are the
app's, given as two functions.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.db.models import Q

from opusof import clock
from opusof.errors import RegulatedError

Record = TypeVar("Record", bound=models.Model)


@dataclass(frozen=True)
class ExpiryKit(Generic[Record]):
    """``is_due(record, now)`` says whether the record's window has passed; ``end(record, now)`` runs the
    transition that ends it (through ``opusof.transitions.transition``); ``due(now)`` is the sweep's query for the
    same rows; ``not_found(id)`` is the app's regulated error for a missing (or someone else's) record."""

    model: type[Record]
    id_field: str
    is_due: Callable[[Record, dt.datetime], bool]
    end: Callable[[Record, dt.datetime], None]
    due: Callable[[dt.datetime], Q]
    not_found: Callable[[str], RegulatedError]

    def expire_if_due(self, record: Record, *, now: dt.datetime) -> bool:
        """Ends the record if its window has passed. The caller holds the row lock."""
        if not self.is_due(record, now):
            return False
        self.end(record, now)
        return True

    def lock(self, record_id: str, *, client: Any = None) -> Record:
        """Loads and row-locks a record (scoped to ``client`` when given), applying a due expiry first."""
        queryset = self.model._default_manager.select_for_update()
        if client is not None:
            queryset = queryset.filter(client=client)
        try:
            record = queryset.get(**{self.id_field: record_id})
        except ObjectDoesNotExist as exc:
            raise self.not_found(record_id) from exc
        if client is not None:
            cast(Any, record).client = client  # already loaded by the caller (a connector's consent info names it)
        self.expire_if_due(record, now=clock.now())
        return record

    def refresh(self, record: Record) -> Record:
        """Lazy expiry on read: the record as it stands now, ended if its window has passed (the sweep normally acts
        first)."""
        if not self.is_due(record, clock.now()):
            return record
        with transaction.atomic():
            return self.lock(getattr(record, self.id_field))

    def sweep(self, *, limit: int = 500, now: dt.datetime | None = None) -> int:
        """The beat sweep: ends every record whose window has passed. Rows another worker holds are skipped
        (SKIP LOCKED) and found by the next run; an ended record is no longer due, so a rerun changes nothing."""
        due_ids = list(
            self.model._default_manager.filter(self.due(now or clock.now())).values_list(self.id_field, flat=True)[
                :limit
            ]
        )
        expired = 0
        for record_id in due_ids:
            with transaction.atomic():
                record = (
                    self.model._default_manager.select_for_update(skip_locked=True)
                    .filter(**{self.id_field: record_id})
                    .first()
                )
                if record is not None and self.expire_if_due(record, now=now or clock.now()):
                    expired += 1
        return expired
