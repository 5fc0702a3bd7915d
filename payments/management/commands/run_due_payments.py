"""Catch-up after an outage: executes the scheduled payments due on or before a date, in this process.

Idempotent: only SCHD payments are claimed (SKIP LOCKED, beside any running worker) and each changes state once;
a second run finds nothing to do.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.outbox.progress import ProgressBar
from opusof.timeutil import business_date
from payments.scheduling import DUE_BATCH_SIZE, DueSweep, payments_due, payments_run_due


class Command(BaseCommand):
    help = "Execute the scheduled (SCHD) payments due on or before --date (default: today in Sao Paulo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="YYYY-MM-DD business date (America/Sao_Paulo); not in the future")
        parser.add_argument("--batch-size", type=int, default=DUE_BATCH_SIZE)
        parser.add_argument("--dry-run", action="store_true", help="only count what is due")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else business_date()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        if day > business_date():
            raise CommandError(f"--date {day} is in the future; scheduled payments run on or after their date.")
        due = payments_due(day).count()
        if options["dry_run"]:
            self.stdout.write(f"dry run: {due} scheduled payment(s) due on or before {day}; nothing executed.")
            return
        bar = ProgressBar(self.stdout, due, label="due payments")
        bar.update(0)
        sweep = payments_run_due(day=day, batch_size=options["batch_size"], progress=lambda s: bar.update(s.claimed))
        bar.update(sweep.claimed)
        bar.close()
        self._summary(day, sweep)

    def _summary(self, day: dt.date, sweep: DueSweep) -> None:
        outcomes = ", ".join(f"{status} {count}" for status, count in sorted(sweep.outcomes.items())) or "none"
        self.stdout.write(
            f"due on or before {day}: executed {sweep.executed} ({outcomes}); still scheduled at the bank "
            f"{sweep.still_scheduled}; bank unavailable {sweep.unavailable}; unknown to the bank {sweep.unknown}."
        )
        if sweep.unavailable or sweep.unknown:
            self.stderr.write("some payments were not executed; run again once the bank answers.")
