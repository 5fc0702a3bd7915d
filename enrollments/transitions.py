"""The enrollment's status writer: ``opusof.transitions.transition`` plus the deadline of the waiting state the
enrollment enters (each AWAITING_* state times out, enrollments-2.1.0.yml EnrollmentRejectionReason)."""

import datetime as dt
from collections.abc import Callable

from enrollments.models import Enrollment, EnrollmentStatus, waiting_timeout
from opusof.transitions import transition


def waiting_deadline(status: str, now: dt.datetime) -> dt.datetime | None:
    """When an enrollment entering ``status`` at ``now`` times out; None for a state that does not wait."""
    timeout = waiting_timeout(status)
    return now + timeout[0] if timeout else None


def enrollment_transition(
    enrollment: Enrollment, apply: Callable[[], None], *, actor: str, reason: str = "", now: dt.datetime
) -> None:
    """The only writer of enrollment status: runs the FSM transition, stamps it, sets the deadline of the new
    waiting state (if any) and leaves a history row."""

    def stamp() -> None:
        enrollment.deadline_at = waiting_deadline(enrollment.status, now)
        if enrollment.status in (EnrollmentStatus.REJECTED, EnrollmentStatus.REVOKED):
            enrollment.cancelled_at = now

    transition(enrollment, apply, actor=actor, reason=reason, now=now, after_apply=stamp)
