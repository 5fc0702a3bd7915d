"""Re-asks the bank about one payment and reconciles our state with its answer.

A multi-item payment still RCVD is submitted again (its batch); any other is read from the bank's status route and
moved there when our state machine allows it — including out of our own infrastructure rejection (RJCT
FALHA_INFRAESTRUTURA_DETENTORA) to what the bank settled, flagged for staff (``PixPaymentBase.follow_bank``). A bank
answer the FSM cannot reach (e.g. the bank's own refusal, RJCT SALDO_INSUFICIENTE, against its ACSC) is reported as
a discrepancy for staff, never forced. Idempotent: a second run finds nothing to change. Every record at once:
``reconcile_bank``.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_fsm import TransitionNotAllowed

from connectors.interfaces import ConnectorRejected, ConnectorUnavailable
from connectors.registry import payment_status_reader
from opusof.outbox.progress import ProgressBar
from payments.batches import payment_batch_submit
from payments.lifecycle import apply_bank_status
from payments.models import PaymentStatus, PixPayment


class Command(BaseCommand):
    help = "Re-query the bank for a payment and reconcile its state."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("payment_id")
        parser.add_argument("--dry-run", action="store_true", help="show the bank's answer, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        payment_id = options["payment_id"]
        payment = PixPayment.objects.filter(payment_id=payment_id).first()
        if payment is None:
            raise CommandError(f"payment {payment_id} not found")
        bar = ProgressBar(self.stdout, 1, label="reprocess")
        if payment.status == PaymentStatus.RCVD:
            if options["dry_run"]:
                self.stdout.write(f"dry run: {payment_id} is RCVD; its batch {payment.batch_id} would be submitted.")
                return
            payment_batch_submit(batch_id=str(payment.batch_id))
            payment.refresh_from_db()
            bar.update(1)
            bar.close()
            self.stdout.write(f"{payment_id}: RCVD → {payment.status}")
            return
        try:
            result = payment_status_reader().get_payment_status(
                payment_id=payment.payment_id, end_to_end_id=payment.end_to_end_id
            )
        except ConnectorUnavailable as exc:
            raise CommandError(f"bank unavailable: {exc}") from exc
        except ConnectorRejected as exc:
            raise CommandError(f"bank does not know {payment_id}: {exc.code} {exc.detail}") from exc
        self.stdout.write(f"{payment_id}: ours {payment.status}, bank {result.status} {result.rejection_code or ''}")
        if options["dry_run"] or result.status == payment.status:
            self.stdout.write("dry run: nothing changed." if options["dry_run"] else "in agreement: nothing to do.")
            return
        with transaction.atomic():
            locked = PixPayment.objects.select_for_update().get(pk=payment.pk)
            before = locked.status
            try:
                changed = apply_bank_status(locked, result, actor="staff:reprocess_payment")
            except TransitionNotAllowed as exc:
                raise CommandError(
                    f"discrepancy: ours {before}, bank {result.status}; our state machine cannot follow, "
                    "staff must investigate."
                ) from exc
        bar.update(1)
        bar.close()
        self.stdout.write(f"{payment_id}: {before} → {locked.status}" if changed else "nothing changed.")
