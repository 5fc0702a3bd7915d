"""Sends outbox events to the TPPs again: by event id, by client, by time window, or only the failed ones.

Every replay is one new attempt with the event's stable id (``x-webhook-event-id``) and a new
``x-webhook-interaction-id`` (webhook 1.2.0), so a TPP that already had it can drop the duplicate.
"""

import datetime as dt
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from opusof.outbox.models import EventState, OutboxEvent
from opusof.outbox.progress import ProgressBar
from opusof.outbox.services import outbox_replay


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(f"{name}: an ISO 8601 date-time with offset, e.g. 2026-11-23T10:00:00Z")
    return parsed


class Command(BaseCommand):
    help = "Replay webhook events (one new attempt each) selected by id, client, time window, or failed only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", dest="ids", action="append", default=[], help="event id (repeatable)")
        parser.add_argument("--client", help="client_id of the TPP")
        parser.add_argument("--since", help="events created at or after (ISO 8601 with offset)")
        parser.add_argument("--until", help="events created before (ISO 8601 with offset)")
        parser.add_argument("--failed-only", action="store_true", help="only events in state FAILED")
        parser.add_argument("--dry-run", action="store_true", help="list the selection, send nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = _when(options["since"], "--since"), _when(options["until"], "--until")
        if not (options["ids"] or options["client"] or since or until or options["failed_only"]):
            raise CommandError("select something: --id, --client, --since/--until or --failed-only")
        events = OutboxEvent.objects.all()
        if options["ids"]:
            events = events.filter(pk__in=options["ids"])
        if options["client"]:
            events = events.filter(client__client_id=options["client"])
        if since:
            events = events.filter(created_at__gte=since)
        if until:
            events = events.filter(created_at__lt=until)
        if options["failed_only"]:
            events = events.filter(state=EventState.FAILED)
        selected = [str(pk) for pk in events.order_by("created_at").values_list("pk", flat=True)]
        if options["dry_run"]:
            for event in events.order_by("created_at"):
                self.stdout.write(f"{event.pk} {event.kind} {event.resource_id} {event.to_status} {event.state}")
            self.stdout.write(f"dry run: {len(selected)} event(s) would be replayed.")
            return
        outcomes: Counter[str] = Counter()
        bar = ProgressBar(self.stdout, len(selected), label="replaying")
        for event_id in selected:
            results = outbox_replay(event_ids=[event_id])
            outcomes[results[0].outcome if results else "BUSY"] += 1
            bar.advance()
        bar.close()
        summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items())) or "none"
        self.stdout.write(f"replayed {len(selected)} event(s): {summary}.")
