"""Status changes of the gateway's consents and payments, as the holder reports them: one FSM transition with its
history row (opusof.transitions) and, in the same transaction, the notification to the application (outbox row).

Polling follows a backoff (payments v4 "Orientações de polling": no tighter than the holder's limits): 5 s, then
doubling, at most 10 minutes between reads."""

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.utils import timezone

from initiator.models import (
    CONSENT_FINAL,
    ENROLLMENT_FINAL,
    PAYMENT_FINAL,
    ApplicationNotification,
    ConsentStatus,
    EnrollmentStatus,
    InitiatorConsent,
    InitiatorEnrollment,
    InitiatorPayment,
    PaymentStatus,
    ScheduledCharge,
)
from opusof.degrade import enqueue_after_commit
from opusof.transitions import record_transition

POLL_FIRST_SECONDS = 5
POLL_MAX_SECONDS = 600


def next_poll(attempts: int, now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=min(POLL_FIRST_SECONDS * 2**attempts, POLL_MAX_SECONDS))


def _notify(
    record: InitiatorConsent | InitiatorPayment | InitiatorEnrollment | ScheduledCharge,
    *,
    kind: str,
    from_status: str,
    now: dt.datetime,
) -> None:
    if not record.application.webhook_url:
        return
    ApplicationNotification.objects.create(
        application=record.application,
        kind=kind,
        resource_id=record.resource_id,
        from_status=from_status,
        to_status=record.status,
        occurred_at=now,
        next_attempt_at=now,
    )
    from initiator.tasks import deliver_notification  # the task module imports services; import at call time

    enqueue_after_commit(deliver_notification, recovered_by="initiator-notify-pending")


def _move(record: Any, *, status: str, actor: str, reason: str, now: dt.datetime) -> bool:
    if record.status == status:
        return False
    from_status = record.status
    change = record.moved if isinstance(record, ScheduledCharge) else record.holder_reported
    kind = record.event_kind
    record_transition(
        record,
        lambda: change(status=status),
        history=record.history_model(),
        kind=kind,
        resource_id=record.resource_id,
        actor=actor,
        reason=reason,
        now=now,
    )
    _notify(record, kind=kind, from_status=from_status, now=now)
    return True


def _take_status(
    record: InitiatorConsent | InitiatorPayment,
    *,
    status: str,
    known: Collection[str],
    final: Collection[str],
    actor: str,
    reason: str,
    now: dt.datetime,
) -> bool:
    """Moves ``record`` to the holder's ``status`` when it is one of ours and the record is still open, then sets
    the next poll: the backoff restarts after a move, and a final record is not polled again."""
    moved = False
    if status in known and record.status not in final:
        moved = _move(record, status=status, actor=actor, reason=reason, now=now)
    record.poll_attempts = 0 if moved else record.poll_attempts
    record.next_poll_at = next_poll(record.poll_attempts, now) if record.status not in final else None
    record.save()
    return moved


def consent_apply(consent: InitiatorConsent, data: dict[str, Any], *, actor: str) -> bool:
    """Takes the holder's consent ``data`` (verified) into ``consent`` (locked by the caller); True if the status
    moved. A status the FSM refuses (the holder moved a final consent) is kept in the data, not in the status."""
    now = timezone.now()
    consent.holder_data = data
    consent.holder_read_at = now
    status = str(data.get("status", consent.status))
    return _take_status(
        consent,
        status=status,
        known=ConsentStatus.values,
        final=CONSENT_FINAL,
        actor=actor,
        reason=rejection_reason(data),
        now=now,
    )


def enrollment_apply(enrollment: InitiatorEnrollment, data: dict[str, Any], *, actor: str) -> bool:
    """Takes the holder's enrollment ``data`` (verified) into ``enrollment`` (locked by the caller); True if the
    status moved. The rejection or revocation reason (enrollments v2 ``cancellation.reason``) goes to the history."""
    now = timezone.now()
    enrollment.holder_data = data
    enrollment.holder_read_at = now
    status = str(data.get("status", enrollment.status))
    cancellation = data.get("cancellation")
    reason_of = cancellation.get("reason") if isinstance(cancellation, dict) else None
    if isinstance(reason_of, dict):
        reason = str(reason_of.get("rejectionReason") or reason_of.get("revocationReason") or "")
        enrollment.cancellation_reason = reason[:60]
    moved = False
    if status in EnrollmentStatus.values and enrollment.status not in ENROLLMENT_FINAL:
        moved = _move(
            enrollment,
            status=status,
            actor=actor,
            reason=enrollment.cancellation_reason,
            now=now,
        )
    open_ = enrollment.status not in ENROLLMENT_FINAL
    enrollment.poll_attempts = 0 if moved else enrollment.poll_attempts
    enrollment.next_poll_at = next_poll(enrollment.poll_attempts, now) if open_ else None
    enrollment.save()
    return moved


def payment_apply(
    payment: InitiatorPayment, *, status: str, body: dict[str, Any], actor: str, reason: str = ""
) -> bool:
    """Takes a holder's answer about ``payment`` (locked by the caller)."""
    now = timezone.now()
    payment.holder_body = body
    return _take_status(
        payment, status=status, known=PaymentStatus.values, final=PAYMENT_FINAL, actor=actor, reason=reason, now=now
    )


def payment_data(body: dict[str, Any]) -> dict[str, Any]:
    """The (first) payment of a holder's payment answer: POST answers a list, GET and PATCH an object."""
    data = body.get("data")
    if isinstance(data, list):
        return data[0] if data and isinstance(data[0], dict) else {}
    return data if isinstance(data, dict) else {}


def rejection_reason(data: dict[str, Any]) -> str:
    rejection = data.get("rejectionReason")
    if isinstance(rejection, dict):
        return f"{rejection.get('code', '')}: {rejection.get('detail', '')}"[:2048]
    return ""


def charge_move(charge: ScheduledCharge, *, status: str, actor: str, reason: str = "") -> bool:
    """Moves a charge (locked by the caller) with its history row and the application's notification."""
    now = timezone.now()
    moved = _move(charge, status=status, actor=actor, reason=reason[:2048], now=now)
    if reason:
        charge.last_error = reason[:1024]
    charge.save()
    return moved
