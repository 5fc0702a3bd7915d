"""Asks the bank for the status of one payment, or of every payment it still holds open, and applies it.

Idempotent: a payment whose status did not change is left as it is; final payments are never touched.
"""

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.interfaces import ConnectorRejected, ConnectorUnavailable
from opusof.outbox.progress import ProgressBar
from payments.models import PixPayment
from payments.services import payment_poll_status, payments_due_for_poll


class Command(BaseCommand):
    help = "Poll the bank for one payment (payment id) or for all pending ones (--all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("payment_id", nargs="?")
        parser.add_argument("--all", action="store_true", help="every ACCP/ACPD/PDNG payment and SCHD ones due")
        parser.add_argument("--limit", type=int, default=100_000)
        parser.add_argument("--dry-run", action="store_true", help="list what would be polled")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["payment_id"]) == bool(options["all"]):
            raise CommandError("give a payment id or --all (not both)")
        if options["payment_id"]:
            if not PixPayment.objects.filter(payment_id=options["payment_id"]).exists():
                raise CommandError(f"payment {options['payment_id']} not found")
            ids = [options["payment_id"]]
        else:
            ids = payments_due_for_poll(limit=options["limit"])
        if options["dry_run"]:
            for payment_id in ids:
                self.stdout.write(payment_id)
            self.stdout.write(f"dry run: {len(ids)} payment(s) would be polled.")
            return
        moves: Counter[str] = Counter()
        unchanged = unavailable = unknown = 0
        bar = ProgressBar(self.stdout, len(ids), label="polling")
        for payment_id in ids:
            before = PixPayment.objects.values_list("status", flat=True).get(payment_id=payment_id)
            try:
                after = payment_poll_status(payment_id=payment_id).status
            except ConnectorUnavailable:
                unavailable += 1
            except ConnectorRejected:
                unknown += 1
            else:
                if after == before:
                    unchanged += 1
                else:
                    moves[f"{before}→{after}"] += 1
            bar.advance()
        bar.close()
        changed = ", ".join(f"{move} {count}" for move, count in sorted(moves.items())) or "none"
        self.stdout.write(
            f"polled {len(ids)}: changed {sum(moves.values())} ({changed}); unchanged {unchanged}; "
            f"bank unavailable {unavailable}; unknown to the bank {unknown}."
        )
