"""Production: nothing defaulted that could be insecure. Fails at import when a secret is missing."""

from pathlib import Path

from opusof.settings.base import *  # noqa: F403
from opusof.settings.env import ImproperlyConfiguredEnv, env_list, env_str

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", "")  # raises when unset
if SECRET_KEY.startswith("insecure") or len(SECRET_KEY) < 50:
    raise ImproperlyConfiguredEnv("SECRET_KEY must be a real secret of at least 50 characters")
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfiguredEnv("ALLOWED_HOSTS is required in production")
OPUSOF_BASE_URL = env_str("OPUSOF_BASE_URL").rstrip("/")
OPUSOF_SIGNING_KEY_PATH = env_str("OPUSOF_SIGNING_KEY_PATH")
OPUSOF_SIGNING_KEY_ID = env_str("OPUSOF_SIGNING_KEY_ID")
OPUSOF_SIGNING_KEY_AUTOCREATE = False
if not Path(OPUSOF_SIGNING_KEY_PATH).is_file():
    raise ImproperlyConfiguredEnv(f"OPUSOF_SIGNING_KEY_PATH {OPUSOF_SIGNING_KEY_PATH} is not a readable file")
OPUSOF_MTLS_REQUIRED = True
OPUSOF_SANDBOX_SCENARIOS = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
