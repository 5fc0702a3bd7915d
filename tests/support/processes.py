"""What a process started by a test (a Celery worker, a management command) needs to run on the test's own
database and Redis database, also under pytest-xdist where each worker has its own (opusof/settings/test.py)."""

import os
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from opusof.settings.test import XDIST_WORKER_VARIABLE


def current_test_database_url() -> str:
    """The URL of the database this test runs on (``test_<name>`` or ``test_<name>_gw<N>``, made by pytest-django)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a worker process can share only a server database with the test")
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def child_process_environment(**extra: str) -> dict[str, str]:
    """The environment of a child process on this test's database and Redis database: ``REDIS_URL`` is already this
    worker's, so the xdist worker name is left out (the child would otherwise lower the database number again)."""
    inherited = {name: value for name, value in os.environ.items() if name != XDIST_WORKER_VARIABLE}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "opusof.settings.test",
        "DATABASE_URL": current_test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
