"""Compares every payment record of opusof (payments v4 and automatic payments v2) with the bank's books, both
ways, and prints each disagreement (``payments.reconciliation``, ``docs/reconciliation.md``).

    manage.py reconcile_bank [--since 2026-12-01T00:00:00Z] [--apply]

Exit status: 0 when everything agrees (or ``--apply`` resolved all of it), 1 when a disagreement stays open or a
payment could not be checked, 2 when the bank's list could not be read. The progress bar (tqdm) goes to stderr
on a terminal and is silent otherwise, so a cron job's output is the findings and the summary only.
"""

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from connectors.interfaces import ConnectorUnavailable
from payments.reconciliation import reconcile_bank


def _instant(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("an ISO 8601 instant with its offset (e.g. 2026-12-01T00:00:00Z)")
    return parsed.astimezone(dt.UTC)


class Command(BaseCommand):
    help = "Compare opusof's payment records with the bank's payments; --apply follows the bank's status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=str, help="ISO 8601 instant: records and bank payments changed since")
        parser.add_argument("--apply", action="store_true", help="ask the bank again and apply its status via the FSM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = _instant(options["since"]) if options["since"] else None
        except ValueError as exc:
            raise CommandError(f"--since: {exc}") from exc
        bar = tqdm(file=options.get("stderr") or sys.stderr, disable=None, unit="pagamento", desc="reconcile_bank")
        try:
            report = reconcile_bank(since=since, apply=options["apply"], on_total=bar.reset, on_progress=bar.update)
        except ConnectorUnavailable as exc:
            raise CommandError(f"bank's payment list unavailable: {exc}", returncode=2) from exc
        finally:
            bar.close()
        resolved = {id(finding): outcome for finding, outcome in report.resolved}
        for finding in report.findings:
            outcome = resolved.get(id(finding))
            self.stdout.write(finding.line() + (f" → resolved: {outcome}" if outcome else ""))
        for payment_id, why in report.unchecked:
            self.stdout.write(f"UNCHECKED {payment_id}: {why}")
        self.stdout.write(
            f"checked {report.checked} record(s), {report.bank_payments} bank payment(s) listed: "
            f"{len(report.findings)} disagreement(s), {len(report.resolved)} resolved, "
            f"{len(report.still_open)} open, {len(report.unchecked)} unchecked."
        )
        if not report.clean:
            sys.exit(1)
