"""The jti replay store (opusof.replay): once per (scope, issuer) until expiry, atomic across connections, pruned."""

import datetime as dt
import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from opusof.models import UsedJti
from opusof.replay import jti_first_use, used_jtis_purge
from opusof.tasks import purge_used_jtis

REQUEST = UsedJti.Scope.REQUEST_JWS
ASSERTION = UsedJti.Scope.CLIENT_ASSERTION


@pytest.mark.django_db
def test_a_jti_is_accepted_once_per_scope_and_issuer():
    jti = str(uuid.uuid4())

    assert jti_first_use(scope=REQUEST, issuer="org-a", jti=jti, ttl_seconds=60) is True
    assert jti_first_use(scope=REQUEST, issuer="org-a", jti=jti, ttl_seconds=60) is False
    # Another organisation, or a client assertion, may carry the same value: replays are per issuer and scope.
    assert jti_first_use(scope=REQUEST, issuer="org-b", jti=jti, ttl_seconds=60) is True
    assert jti_first_use(scope=ASSERTION, issuer="org-a", jti=jti, ttl_seconds=60) is True
    assert UsedJti.objects.filter(jti=jti).count() == 3


@pytest.mark.django_db
def test_an_expired_record_admits_the_jti_again_for_a_new_window():
    jti = str(uuid.uuid4())
    assert jti_first_use(scope=REQUEST, issuer="org", jti=jti, ttl_seconds=60)
    UsedJti.objects.filter(jti=jti).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert jti_first_use(scope=REQUEST, issuer="org", jti=jti, ttl_seconds=60) is True

    record = UsedJti.objects.get(jti=jti)
    assert record.expires_at > timezone.now() + dt.timedelta(seconds=50)
    assert jti_first_use(scope=REQUEST, issuer="org", jti=jti, ttl_seconds=60) is False


@pytest.mark.django_db
def test_the_purge_deletes_only_expired_records():
    live, dead = str(uuid.uuid4()), str(uuid.uuid4())
    jti_first_use(scope=REQUEST, issuer="org", jti=live, ttl_seconds=86_400)
    jti_first_use(scope=REQUEST, issuer="org", jti=dead, ttl_seconds=86_400)
    UsedJti.objects.filter(jti=dead).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert purge_used_jtis() == 1  # beat's jti-purge

    assert list(UsedJti.objects.values_list("jti", flat=True)) == [live]
    assert used_jtis_purge(now=timezone.now() + dt.timedelta(days=2)) == 1
    assert not UsedJti.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_jti_admit_exactly_one():
    jti = str(uuid.uuid4())
    barrier = threading.Barrier(8)
    results: list[bool] = []
    lock = threading.Lock()

    def use() -> None:
        try:
            barrier.wait()
            accepted = jti_first_use(scope=REQUEST, issuer="org", jti=jti, ttl_seconds=60)
            with lock:
                results.append(accepted)
        finally:
            connection.close()

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 7 + [True]
