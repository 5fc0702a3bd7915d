"""Scheduled-payment execution and status polling: the services behind payments/tasks.py and the operator
commands. Read payments/tasks.py's docstring for why "running a due payment" is a status read at the bank."""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from connectors.interfaces import (
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    GetPaymentStatuses,
    PaymentStatusResult,
)
from connectors.registry import payment_status_reader
from opusof.outbox.services import outbox_batch
from opusof.timeutil import business_date
from opusof.transitions import transitions_in_bulk
from payments.lifecycle import apply_bank_status, due_for_poll, poll_with_backoff
from payments.models import PaymentStatus, PixPayment
from payments.services import PIX_PAYMENTS, payment_connector_context

logger = logging.getLogger(__name__)

DUE_BATCH_SIZE = 500


def payments_poll_candidates(*, limit: int = 500) -> list[str]:
    """Beat: payments v4 payments to ask the bank about whose next poll is due (payments.lifecycle.due_for_poll;
    SCHD ones on their date are the due sweep's)."""
    return due_for_poll(PIX_PAYMENTS, schedules=False, limit=limit)


def payment_poll_with_backoff(*, payment_id: str) -> str | None:
    """payments v4: see payments.lifecycle.poll_with_backoff."""
    return poll_with_backoff(PIX_PAYMENTS, payment_id)


def payments_due(day: dt.date) -> QuerySet[PixPayment]:
    """SCHD payments dated on or before ``day`` (a business date, America/Sao_Paulo)."""
    return PixPayment.objects.filter(status=PaymentStatus.SCHD, scheduled_date__lte=day)


@dataclass
class DueSweep:
    """What one sweep did. ``executed`` counts payments whose status changed (each exactly once)."""

    executed: int = 0
    still_scheduled: int = 0
    unavailable: int = 0
    unknown: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    # Rows this sweep looked at without a change: skipped by its later batches so the loop ends.
    seen: set[int] = field(default_factory=set)

    @property
    def claimed(self) -> int:
        return self.executed + self.still_scheduled + self.unavailable + self.unknown


def payments_execute_due_batch(*, day: dt.date, sweep: DueSweep, batch_size: int = DUE_BATCH_SIZE) -> int:
    """Claims up to ``batch_size`` due payments (rows locked by another worker are skipped), asks the bank for
    their outcomes and applies them, all in one transaction per batch. Returns how many rows it claimed."""
    with transaction.atomic(), outbox_batch():
        # Claim ids only, in the order of the (status, scheduled_date) index so the scan stops at the batch size
        # (sorting every due row's full width per batch made a 100 000-payment sweep quadratic), then load them.
        claimed = list(
            payments_due(day)
            .select_for_update(skip_locked=True)
            .exclude(pk__in=sweep.seen)
            .order_by("status", "scheduled_date")
            .values_list("pk", flat=True)[:batch_size]
        )
        # The consent rides along: the connector's status route names it (Opus contract, loggedUser/consent).
        batch = list(PixPayment.objects.select_related("consent").filter(pk__in=claimed).order_by("pk"))
        answers = _bank_statuses(batch)
        # Each change still goes through record_transition (history row, outbox event); the batch's writes are
        # made together when the block ends, inside this transaction.
        with transitions_in_bulk(batch):
            for payment in batch:
                answer = answers[payment.payment_id]
                if isinstance(answer, ConnectorUnavailable):
                    sweep.unavailable += 1
                    sweep.seen.add(payment.pk)
                elif isinstance(answer, ConnectorError):
                    # The bank does not know the payment: nothing to apply; staff see it in the log and the poll
                    # list.
                    logger.error("bank does not know a due payment", extra={"payment_id": payment.payment_id})
                    sweep.unknown += 1
                    sweep.seen.add(payment.pk)
                elif apply_bank_status(payment, answer, actor="system:scheduler"):
                    sweep.executed += 1
                    sweep.outcomes[payment.status] = sweep.outcomes.get(payment.status, 0) + 1
                else:
                    sweep.still_scheduled += 1
                    sweep.seen.add(payment.pk)
    return len(batch)


def _bank_statuses(batch: list[PixPayment]) -> dict[str, PaymentStatusResult | ConnectorError]:
    """The bank's answer for each payment: one call for the batch when the connector offers it, else one call per
    payment (the Opus status route)."""
    reader = payment_status_reader()
    if isinstance(reader, GetPaymentStatuses):
        return reader.get_payment_statuses([(payment.payment_id, payment.end_to_end_id) for payment in batch])
    answers: dict[str, PaymentStatusResult | ConnectorError] = {}
    for payment in batch:
        try:
            answers[payment.payment_id] = reader.get_payment_status(
                payment_id=payment.payment_id,
                end_to_end_id=payment.end_to_end_id,
                context=payment_connector_context(payment),
            )
        except (ConnectorUnavailable, ConnectorRejected) as exc:
            answers[payment.payment_id] = exc
    return answers


def payments_run_due(
    *,
    day: dt.date | None = None,
    batch_size: int = DUE_BATCH_SIZE,
    dry_run: bool = False,
    progress: Callable[[DueSweep], None] | None = None,
) -> DueSweep:
    """Runs batches until no due payment is left that this sweep has not seen. Safe beside other sweeps."""
    day = day or business_date()
    if day > business_date():
        raise ValueError(f"{day} is in the future: a scheduled payment runs on or after its date.")
    sweep = DueSweep()
    if dry_run:
        sweep.still_scheduled = payments_due(day).count()
        return sweep
    while payments_execute_due_batch(day=day, sweep=sweep, batch_size=batch_size):
        if progress is not None:
            progress(sweep)
    return sweep
