"""Enrollment status changes reach the outbox on the webhook spec's path (webhook 1.2.0)."""

from urllib.parse import urlsplit

from opusof.outbox.models import EventKind, OutboxEvent


def paths(kind: str) -> list[tuple[str, str]]:
    return [
        (urlsplit(event.url).path, event.to_status)
        for event in OutboxEvent.objects.filter(kind=kind).order_by("occurred_at", "id")
    ]


def test_enrollment_changes_are_webhook_events(v2):
    enrollment_id = v2.create()
    v2.post_risk_signals(enrollment_id)
    events = paths(EventKind.ENROLLMENT)
    assert [status for _, status in events] == ["AWAITING_ACCOUNT_HOLDER_VALIDATION"]
    assert events[0][0].endswith("/open-banking/webhook/v1/enrollments/v2/enrollments/" + enrollment_id)
