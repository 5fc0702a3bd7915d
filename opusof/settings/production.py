"""Production: nothing defaulted that could be insecure. Fails at import when a secret or a server is missing."""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from opusof.settings.base import *  # noqa: F403
from opusof.settings.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

DEBUG = False

SECRET_KEY = env_str("SECRET_KEY")
# Same bar as Django's security check W009 (deploy checks are not run at start-up, so enforce it here).
if SECRET_KEY.startswith(("insecure", "django-insecure")) or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfiguredEnv("SECRET_KEY must be a random secret of at least 50 characters")

# The embedded SQLite file and filesystem broker are single-host conveniences; production needs the servers.
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":  # noqa: F405
    raise ImproperlyConfiguredEnv("DATABASE_URL must point at PostgreSQL in production")
if not REDIS_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfiguredEnv("REDIS_URL must be a redis:// or rediss:// URL in production")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfiguredEnv("ALLOWED_HOSTS is required in production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

OPUSOF_BASE_URL = env_str("OPUSOF_BASE_URL").rstrip("/")
if not OPUSOF_BASE_URL.startswith("https://"):
    raise ImproperlyConfiguredEnv("OPUSOF_BASE_URL must be the https URL the TPPs call")

OPUSOF_SIGNING_KEY_PATH = env_str("OPUSOF_SIGNING_KEY_PATH")
OPUSOF_SIGNING_KEY_ID = env_str("OPUSOF_SIGNING_KEY_ID")
OPUSOF_SIGNING_KEY_AUTOCREATE = False
if not Path(OPUSOF_SIGNING_KEY_PATH).is_file():
    raise ImproperlyConfiguredEnv(f"OPUSOF_SIGNING_KEY_PATH {OPUSOF_SIGNING_KEY_PATH} is not a readable file")
# Every response is signed with it (PS256): a file that is not an unencrypted RSA PEM key would fail each of them.
try:
    _signing_key = load_pem_private_key(Path(OPUSOF_SIGNING_KEY_PATH).read_bytes(), password=None)
except (ValueError, TypeError) as exc:
    raise ImproperlyConfiguredEnv(
        f"OPUSOF_SIGNING_KEY_PATH {OPUSOF_SIGNING_KEY_PATH} is not an unencrypted PEM private key"
    ) from exc
if not isinstance(_signing_key, RSAPrivateKey) or _signing_key.key_size < 2048:
    raise ImproperlyConfiguredEnv(f"OPUSOF_SIGNING_KEY_PATH {OPUSOF_SIGNING_KEY_PATH} must be an RSA key of 2048+ bits")
del _signing_key

OPUSOF_MTLS_REQUIRED = True

# The initiator's holder tokens are encrypted with keys of their own, never with one derived from SECRET_KEY.
INITIATOR_TOKEN_KEYS = env_list("INITIATOR_TOKEN_KEYS", [])
if not INITIATOR_TOKEN_KEYS:
    raise ImproperlyConfiguredEnv("INITIATOR_TOKEN_KEYS (Fernet keys, newest first) is required in production")
# Conformance-suite scenario amounts must never reach a real customer's payment.
OPUSOF_SANDBOX_SCENARIOS = False
# Nor may anyone move the business clock (opusof/clock.py): real customers' payments run on real dates.
OPUSOF_SANDBOX_CLOCK = False
# The demo shop's default credentials are public; a production deployment serves it only when asked to.
SHOP_ENABLED = env_bool("SHOP_ENABLED", False)
# The embedded sandbox bank is the default everywhere else; here every capability must name the bank's connector.
_sandbox_capabilities = sorted(k for k, v in OPUSOF_CONNECTORS.items() if v.startswith("connectors.sandbox"))  # noqa: F405
if _sandbox_capabilities:
    raise ImproperlyConfiguredEnv(
        f"OPUSOF_CONNECTOR_* still point at the sandbox bank for {', '.join(_sandbox_capabilities)} in production"
    )

# Refunds leave the merchant's real account: no default here (empty: the merchant APIs refuse refunds), never the
# sandbox's.
OPUSOF_REFUND_CONNECTOR = env_str("OPUSOF_CONNECTOR_REFUND", "")
if OPUSOF_REFUND_CONNECTOR.startswith("connectors.sandbox"):
    raise ImproperlyConfiguredEnv("OPUSOF_CONNECTOR_REFUND points at the sandbox bank in production")

# Hashed, compressed static files from `manage.py collectstatic`, served by WhiteNoise.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# TLS ends at the proxy in front of opusof, which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
SECURE_CONTENT_TYPE_NOSNIFF = True
