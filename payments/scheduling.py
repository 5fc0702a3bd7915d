"""Scheduled-payment execution and status polling: the services behind payments/tasks.py and the operator
commands. Read payments/tasks.py's docstring for why "running a due payment" is a status read at the bank."""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connectors.interfaces import (
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    GetPaymentStatuses,
    PaymentStatusResult,
)
from connectors.registry import payment_status_reader
from opusof.outbox.models import PaymentPollState
from opusof.outbox.services import outbox_batch
from opusof.timeutil import business_date
from opusof.transitions import transitions_in_bulk
from payments.models import PaymentStatus, PixPayment, PixPaymentBase
from payments.services import (
    POLLED_STATUSES,
    apply_bank_status,
    payment_connector_context,
    payment_poll_status,
)

logger = logging.getLogger(__name__)

DUE_BATCH_SIZE = 500
# What a poll may find the payment still waiting in: open at the bank, or scheduled when it is polled on its date.
_STILL_OPEN = (*POLLED_STATUSES, PaymentStatus.SCHD)


def _poll_setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def poll_backoff(attempts: int) -> dt.timedelta:
    """30 s, 60 s, 120 s, ... capped at one hour (OPUSOF_POLL_BASE_SECONDS / OPUSOF_POLL_MAX_SECONDS)."""
    base = _poll_setting("OPUSOF_POLL_BASE_SECONDS", 30)
    cap = _poll_setting("OPUSOF_POLL_MAX_SECONDS", 3600)
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def payments_poll_candidates(*, limit: int = 500) -> list[str]:
    """Open payments (ACCP/ACPD/PDNG) whose next poll is due, least recently polled first."""
    now = timezone.now()
    due = PixPayment.objects.filter(status__in=POLLED_STATUSES).exclude(poll_state__next_poll_at__gt=now)
    return list(due.order_by("status_updated_at").values_list("payment_id", flat=True)[:limit])


def payment_poll_with_backoff(*, payment_id: str) -> str | None:
    """payments v4: see poll_with_backoff."""
    return poll_with_backoff(
        PixPayment.objects.filter(payment_id=payment_id),
        lambda: payment_poll_status(payment_id=payment_id),
        state_of="payment",
    )


def poll_with_backoff(payment: QuerySet[Any], poll: Callable[[], PixPaymentBase], *, state_of: str) -> str | None:
    """Polls one payment (``payment`` selects it, ``poll`` asks the bank and applies the answer) and schedules the
    next poll in its PaymentPollState (``state_of``: the state's field naming it): the interval doubles while the
    bank's answer stays the same (or it cannot be reached); past OPUSOF_POLL_ATTENTION_AFTER polls the payment is
    flagged for staff, and polling goes on at the ceiling interval. Returns the status after the poll."""
    before = payment.values_list("status", flat=True).first()
    if before is None:
        return None
    error = ""
    try:
        after = poll().status
    except ConnectorUnavailable as exc:
        after, error = before, f"detentora indisponível: {exc}"
    except ConnectorRejected as exc:
        after, error = before, f"detentora recusou a consulta: {exc.code} {exc.detail}"
    now = timezone.now()
    with transaction.atomic():
        state, _ = PaymentPollState.objects.select_for_update().get_or_create(
            **{state_of: payment.get()}, defaults={"next_poll_at": now}
        )
        state.attempts = 1 if after != before else state.attempts + 1
        state.last_polled_at = now
        state.last_error = error[:1024]
        state.next_poll_at = now + poll_backoff(state.attempts)
        still_open = after in _STILL_OPEN
        if still_open and state.attempts >= _poll_setting("OPUSOF_POLL_ATTENTION_AFTER", 12):
            if not state.needs_attention:
                state.needs_attention, state.flagged_at = True, now
                logger.error("payment still open after the polling ceiling", extra={"payment": str(state.polled)})
        elif not still_open:
            state.needs_attention = False
        state.save()
    return str(after)


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
