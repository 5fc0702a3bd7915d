"""pytest: the machine's real PostgreSQL and Redis (README), fast password hashing."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/opusof")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

from opusof.settings.base import *  # noqa: F403

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
