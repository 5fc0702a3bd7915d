"""Two dispatchers (two beats) claiming at the same moment take disjoint events: SKIP LOCKED plus the lease."""

import threading

import pytest
from django.db import connection

from opusof.outbox.models import OutboxEvent
from opusof.outbox.services import outbox_claim_due
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_dispatchers_never_claim_the_same_event(v4):
    for _ in range(6):
        v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    total = OutboxEvent.objects.count()
    assert total == 6
    barrier = threading.Barrier(2)
    claims: list[list[str]] = []

    def dispatcher() -> None:
        try:
            barrier.wait()
            claims.append(outbox_claim_due(limit=4)[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    first, second = claims
    assert not set(first) & set(second), "an event claimed twice"
    assert len(first) + len(second) == total
    assert outbox_claim_due()[1] == [], "everything is leased"
