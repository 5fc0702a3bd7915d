"""Automatic payments v2 status changes reach the outbox on the webhook spec's paths (webhook 1.2.0)."""

from urllib.parse import urlsplit

from opusof.outbox.models import EventKind, OutboxEvent
from tests.support.payment_bodies import ANA_ACCOUNT, own
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment


def paths(kind: str) -> list[tuple[str, str]]:
    return [
        (urlsplit(event.url).path, event.to_status)
        for event in OutboxEvent.objects.filter(kind=kind).order_by("occurred_at", "id")
    ]


def test_recurring_consent_and_payment_changes_are_webhook_events(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(total="1000.00"), debtor=own(ANA_ACCOUNT))
    payment = ap2.pay(consent_id, sweeping_payment("25.00"))
    assert (
        "/webhooks/open-banking/webhook/v1/automatic-payments/v2/recurring-consents/" + consent_id,
        "AUTHORISED",
    ) in [(path.replace("%3A", ":"), status) for path, status in paths(EventKind.RECURRING_CONSENT)]
    payment_paths = paths(EventKind.RECURRING_PAYMENT)
    expected = "/webhooks/open-banking/webhook/v1/automatic-payments/v2/pix/recurring-payments/"
    assert (expected + payment["recurringPaymentId"], "ACSC") in payment_paths
