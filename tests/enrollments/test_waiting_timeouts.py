"""Timeouts of the enrollment's waiting states (EnrollmentRejectionReason REJEITADO_TEMPO_EXPIRADO_*): the beat sweep
rejects an enrollment once its state outlived the configured minutes, and not a second before."""

import datetime as dt

import pytest
from django.db.models import F
from django.utils import timezone

from enrollments.models import Enrollment, EnrollmentStatusChange
from enrollments.tasks import expire_due_enrollments
from tests.support.enrollments_v2 import EnrollmentsV2

STATES = [
    ("AWAITING_RISK_SIGNALS", "OPUSOF_ENROLLMENT_RISK_SIGNALS_TIMEOUT_MINUTES", 5),
    ("AWAITING_ACCOUNT_HOLDER_VALIDATION", "OPUSOF_ENROLLMENT_ACCOUNT_HOLDER_VALIDATION_TIMEOUT_MINUTES", 15),
    ("AWAITING_ENROLLMENT", "OPUSOF_ENROLLMENT_FIDO_REGISTRATION_TIMEOUT_MINUTES", 5),
]
REASONS = {
    "AWAITING_RISK_SIGNALS": "REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS",
    "AWAITING_ACCOUNT_HOLDER_VALIDATION": "REJEITADO_TEMPO_EXPIRADO_ACCOUNT_HOLDER_VALIDATION",
    "AWAITING_ENROLLMENT": "REJEITADO_TEMPO_EXPIRADO_ENROLLMENT",
}


def _enrollment_in(v2: EnrollmentsV2, status: str) -> str:
    enrollment_id = v2.create()
    if status != "AWAITING_RISK_SIGNALS":
        response, _ = v2.post_risk_signals(enrollment_id)
        assert response.status_code == 204
    if status == "AWAITING_ENROLLMENT":
        v2.approve(enrollment_id)
    assert Enrollment.objects.get(enrollment_id=enrollment_id).status == status
    return enrollment_id


def _age(enrollment_id: str, by: dt.timedelta) -> None:
    """As if ``by`` had passed since the enrollment entered its state (both stored instants move back)."""
    Enrollment.objects.filter(enrollment_id=enrollment_id).update(
        status_updated_at=F("status_updated_at") - by, deadline_at=F("deadline_at") - by
    )


def test_defaults_are_the_state_machine_minutes(settings) -> None:
    assert [getattr(settings, name) for _, name, _ in STATES] == [minutes for _, _, minutes in STATES]


@pytest.mark.parametrize(("status", "setting", "minutes"), STATES)
def test_sweep_rejects_each_waiting_state_after_its_timeout_only(
    v2: EnrollmentsV2, settings, status: str, setting: str, minutes: int
) -> None:
    # given a timeout configured apart from the default, so the deadline can only come from the setting
    configured = minutes + 2
    setattr(settings, setting, configured)
    enrollment_id = _enrollment_in(v2, status)
    enrollment = Enrollment.objects.get(enrollment_id=enrollment_id)
    assert enrollment.deadline_at is not None
    assert enrollment.deadline_at - enrollment.status_updated_at == dt.timedelta(minutes=configured)

    # when the state is one second short of its timeout, the sweep leaves it alone
    remaining = enrollment.deadline_at - timezone.now()
    _age(enrollment_id, remaining - dt.timedelta(seconds=2))
    assert expire_due_enrollments() == 0
    assert Enrollment.objects.get(enrollment_id=enrollment_id).status == status

    # when the timeout has passed, the sweep rejects it with the state's reason
    _age(enrollment_id, dt.timedelta(seconds=3))
    assert expire_due_enrollments() == 1

    data = v2.get(enrollment_id)
    assert data["status"] == "REJECTED"
    assert data["cancellation"]["reason"] == {"rejectionReason": REASONS[status]}
    assert data["cancellation"]["cancelledFrom"] == "DETENTORA"
    change = EnrollmentStatusChange.objects.filter(enrollment__enrollment_id=enrollment_id).last()
    assert change is not None
    assert (change.from_status, change.to_status, change.actor, change.reason) == (
        status,
        "REJECTED",
        "system:expiry",
        REASONS[status],
    )
