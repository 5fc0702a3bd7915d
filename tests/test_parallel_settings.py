"""Under pytest-xdist each worker has its own Redis database (opusof/settings/test.py), so one worker clearing the
cache or purging a Celery queue never touches another's; a process a test starts stays on the test's own."""

import os

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from opusof.settings.test import XDIST_WORKER_VARIABLE, xdist_worker_redis_url
from tests.support.processes import child_process_environment


@pytest.mark.parametrize(
    ("worker", "expected"),
    [
        ("", "redis://127.0.0.1:6379/15"),
        ("gw0", "redis://127.0.0.1:6379/15"),
        ("gw2", "redis://127.0.0.1:6379/13"),
        ("gw15", "redis://127.0.0.1:6379/0"),
    ],
)
def test_each_worker_lowers_the_database_number_by_its_index(worker: str, expected: str) -> None:
    assert xdist_worker_redis_url("redis://127.0.0.1:6379/15", worker) == expected


def test_credentials_and_host_are_kept() -> None:
    assert (
        xdist_worker_redis_url("redis://:s3cret@cache.internal:6380/8", "gw1")
        == "redis://:s3cret@cache.internal:6380/7"
    )


def test_a_worker_beyond_database_zero_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="gw9"):
        xdist_worker_redis_url("redis://127.0.0.1:6379/8", "gw9")


def test_this_run_uses_its_workers_database_for_cache_and_broker(db: None) -> None:
    worker = os.environ.get(XDIST_WORKER_VARIABLE, "")
    configured = os.environ["REDIS_URL"]

    assert xdist_worker_redis_url(configured, worker) == settings.REDIS_URL
    assert settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    # A child process gets the derived URL and no worker name, so it does not lower the number again.
    child = child_process_environment()
    assert child["REDIS_URL"] == settings.REDIS_URL
    assert XDIST_WORKER_VARIABLE not in child
    assert child["DATABASE_URL"].endswith("/" + settings.DATABASES["default"]["NAME"])
