"""pytest: the machine's real PostgreSQL and Redis (README), fast password hashing.

Under pytest-xdist every worker has its own database (pytest-django names it ``test_<name>_gw<N>``) and its own
Redis database, ``REDIS_URL``'s database number minus the worker's index N: the tests clear the cache and purge the
Celery queues, which must not reach another worker's keys or messages (see ``xdist_worker_redis_url``).
"""

import os
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

# A developer's .env (their demo database, bind address) never reaches the tests.
os.environ.setdefault("OPUSOF_ENV_FILE", os.devnull)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opusof")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from opusof.settings.base import *  # noqa: F403

# Set by pytest-xdist in each worker process (gw0, gw1, ...); absent in a plain pytest run and in the processes
# the tests start (tests/support/processes.py removes it, so a worker subprocess does not count its index twice).
XDIST_WORKER_VARIABLE = "PYTEST_XDIST_WORKER"


def xdist_worker_redis_url(url: str, worker: str) -> str:
    """``url`` with its database number lowered by the index of xdist worker ``worker`` (``gw2`` on ``/15`` → ``/13``),
    so the workers of one run never share a Redis database and gw0 keeps the configured one."""
    if not worker:
        return url
    index = int(worker.removeprefix("gw"))
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    if index > base:
        raise ImproperlyConfigured(
            f"xdist worker {worker} needs Redis database {base} - {index} < 0: run fewer workers or raise REDIS_URL's"
        )
    return urlunsplit(parts._replace(path=f"/{base - index}"))


REDIS_URL = xdist_worker_redis_url(REDIS_URL, os.environ.get(XDIST_WORKER_VARIABLE, ""))  # noqa: F405
CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
CELERY_BROKER_URL = REDIS_URL

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OPUSOF_SIGNING_KEY_PATH = str(VAR_DIR / "keys" / "test-holder-signing.pem")  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
# The worker started by tests/test_celery.py consumes only this queue, so it never runs tasks other tests publish.
CELERY_TASK_ROUTES = {"opusof.tasks.probe": {"queue": "opusof.test-probe"}}
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405
# links.self must match the spec's LinkSingle pattern (https, a dotted host with a 2-6 letter TLD).
OPUSOF_BASE_URL = "https://api.opusof.test"
INITIATOR_BASE_URL = OPUSOF_BASE_URL
# Serve static files from the apps as `make run` does, without a collectstatic run (and its missing-folder warning).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
