"""When an enrollment ends by itself: a waiting state that outlived its timeout is REJECTED with that state's
REJEITADO_TEMPO_EXPIRADO_* reason (enrollments-2.1.0.yml EnrollmentRejectionReason), on the one expiry kit."""

import datetime as dt

from django.db.models import Q

from enrollments.errors import EnrollmentNotFound
from enrollments.models import WAITING_STATUSES, CancelledFrom, Enrollment, waiting_timeout
from enrollments.transitions import enrollment_transition
from opusof.expiry import ExpiryKit
from opusof.models import TppClient

SYSTEM_EXPIRY = "system:expiry"


def _expiry_reason(enrollment: Enrollment, now: dt.datetime) -> str | None:
    if enrollment.deadline_at is None or now <= enrollment.deadline_at:
        return None
    timeout = waiting_timeout(enrollment.status)
    return timeout[1] if timeout else None


def _reject_expired(enrollment: Enrollment, now: dt.datetime) -> None:
    reason = _expiry_reason(enrollment, now) or ""
    enrollment_transition(
        enrollment,
        lambda: enrollment.reject(reason=reason, cancelled_from=CancelledFrom.DETENTORA),
        actor=SYSTEM_EXPIRY,
        reason=reason,
        now=now,
    )


ENROLLMENT_EXPIRY = ExpiryKit(
    model=Enrollment,
    id_field="enrollment_id",
    is_due=lambda enrollment, now: _expiry_reason(enrollment, now) is not None,
    end=_reject_expired,
    due=lambda now: Q(status__in=list(WAITING_STATUSES), deadline_at__lt=now),
    not_found=lambda enrollment_id: EnrollmentNotFound(f"Vínculo de conta {enrollment_id} não encontrado."),
)


def lock_enrollment(*, enrollment_id: str, client: TppClient | None = None) -> Enrollment:
    """Loads and row-locks an enrollment (scoped to ``client`` when given), applying a due expiry first."""
    return ENROLLMENT_EXPIRY.lock(enrollment_id, client=client)


def enrollment_refresh(*, enrollment: Enrollment) -> Enrollment:
    """Lazy expiry on read, so a GET is right even when no worker sweeps."""
    return ENROLLMENT_EXPIRY.refresh(enrollment)


def enrollments_expire_due(*, limit: int = 500) -> int:
    """The beat sweep behind the lazy expiry: rejects every enrollment whose waiting state timed out."""
    return ENROLLMENT_EXPIRY.sweep(limit=limit)
