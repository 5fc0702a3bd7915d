"""Settings shared by every environment; each value comes from the environment (see README)."""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from opusof.settings.env import env_bool, env_int, env_list, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Optional settings file (docs/configuration.md): `.env` at the checkout's root unless OPUSOF_ENV_FILE names another.
ENV_FILE = load_env_file(Path(env_str("OPUSOF_ENV_FILE", str(BASE_DIR / ".env"))))
# Local state of the embedded run (SQLite, broker files, cache, keys, static files); git-ignored.
VAR_DIR = Path(env_str("OPUSOF_VAR_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-only-secret-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "opusof.admin_apps.OpusofAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "opusof",
    "opusof.authserver",
    "connectors",
    "consents",
    "payments",
    "recurring",
    "enrollments",
    "opusof.outbox",
    "initiator",
    "merchant",
    "shop",
]

MIDDLEWARE = [
    "opusof.middleware.InteractionIdMiddleware",
    "opusof.api.edge.ApiJsonOnlyMiddleware",
    "opusof.api.edge.UntrustedInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the admin's and the offline Swagger/Redoc assets (drf-spectacular-sidecar) from the web process.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "opusof.middleware.BrasiliaTimeMiddleware",
]

ROOT_URLCONF = "opusof.urls"
WSGI_APPLICATION = "opusof.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opusof.context_processors.bank",
            ],
        },
    },
]

# Embedded default: a SQLite file under var/ when DATABASE_URL is unset, so `make run` needs no server.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'opusof.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat write the same file. WAL lets readers run beside the one writer; IMMEDIATE takes the
    # write lock when `atomic` starts, so a transaction that read first cannot fail with "database is locked" on
    # its first write (a deferred lock upgrade is not retried by the busy timeout); `timeout` is that busy wait.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_PREPARED_STATEMENTS", True):
    # Server-side binding with prepared statements saves PostgreSQL re-planning the same few queries on every
    # request (~25% of POST /pix/payments time, bench/payments_v4.py). Turn off behind a transaction-mode pooler.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 1}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A stalled Redis must fail a request (and /health) quickly instead of hanging a web worker.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
else:
    # The file cache is shared by web, worker and beat processes (the worker heartbeat lives in it). Its default
    # of 300 entries would cull live keys at random, the heartbeat and 24 h JWS `jti` replay records included.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "pt-br"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Business dates (scheduling, D+1, cancellation deadlines) follow Brasilia time (payments v4 info.description).
OPUSOF_BUSINESS_TIME_ZONE = "America/Sao_Paulo"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Demo shop (shop/, docs/shop.md) ---------------------------------------------------------------------------
# A shop page calling the merchant API over HTTP as merchant SHOP_CLIENT_ID (created by `manage.py load_demo`).
SHOP_ENABLED = env_bool("SHOP_ENABLED", True)
SHOP_MERCHANT_API_URL = env_str("SHOP_MERCHANT_API_URL", "")  # empty: OPUSOF_BASE_URL
SHOP_CLIENT_ID = env_str("SHOP_CLIENT_ID", "opusof-demo-shop")
SHOP_CLIENT_SECRET = env_str("SHOP_CLIENT_SECRET", "loja-exemplo-sandbox")
SHOP_DEMO_CPF = "12345678909"  # the sandbox bank's demo customer (connectors/sandbox/demo.py)
SHOP_BENEFICIARY = {
    "nome": "Loja Exemplo Comercio Ltda",
    "documento": "12345678000195",
    "codigoBanco": "12345678",
    "agencia": "0001",
    "conta": "90000001",
    "tipoConta": "CACC",
}

# --- Celery -------------------------------------------------------------------------------------------------
# Without REDIS_URL the broker is kombu's filesystem transport under var/, which needs no server.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # socket_timeout: a Redis that hangs (paused, network partition) fails a publish after 5 s instead of holding the
    # request forever; the worker's BRPOP waits 1 s server-side, well inside it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 5}
else:
    CELERY_BROKER_DIR = VAR_DIR / "celery"
    # The host part means nothing to this transport; naming one keeps kombu from warning about its absence.
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        # Exchange bindings; kombu's default is "control" relative to the current directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "polling_interval": 0.5,
    }
    # kombu's filesystem transport does not create its folders, and the web process publishes before any worker.
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker outlives a broker outage of any length (docs/resilience.md): it reconnects forever (2 s, 4 s, ... 30 s
# apart) instead of exiting after Celery's default 100 attempts.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops is left to finish, not cancelled: an acks_late task then cannot ack and
# is redelivered after the visibility timeout, which its idempotence (state guards under row locks) makes harmless.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Worker log lines go through LOGGING (JSON with interaction_id) instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Every periodic task lives in one place (opusof/settings/beat.py), so operations can read and change the whole
# schedule there.
from opusof.settings.beat import CELERY_BEAT_SCHEDULE  # noqa: E402

CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- API ----------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "opusof.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "opusof",
    "DESCRIPTION": "Open Finance Brasil payment APIs served by the account holder.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The sidecar's Redoc bundle, served by opusof.home.redoc_bundle without the one image it fetches from a CDN.
    "REDOC_DIST": "/api/redoc-dist",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- opusof -------------------------------------------------------------------------------------------------
# HOST:PORT the web server of `manage.py run_platform` binds to.
OPUSOF_BIND = env_str("OPUSOF_BIND", "127.0.0.1:8000")
_bind_host, _, _bind_port = OPUSOF_BIND.rpartition(":")
_bind_host = "127.0.0.1" if _bind_host in {"0.0.0.0", "::", "[::]"} else _bind_host  # noqa: S104 - a URL to call
# Public base URL the TPPs call: request JWS `aud` is checked against it, never against the socket address.
# A local run defaults to the address it binds, so every process (web, worker, load_demo) agrees on it.
OPUSOF_BASE_URL = env_str("OPUSOF_BASE_URL", f"http://{_bind_host}:{_bind_port}").rstrip("/")
# Our organisation id in the OFB Directory: `iss` of every signed response.
OPUSOF_ORGANISATION_ID = env_str("OPUSOF_ORGANISATION_ID", "74e929d9-33b6-4d85-8ba7-c146c867a817")
OPUSOF_ISPB = env_str("OPUSOF_ISPB", "99999004")
# The institution's name as customers and staff read it (customer pages, index page, admin).
OPUSOF_BANK_NAME = env_str("OPUSOF_BANK_NAME", "Banco Sandbox opusof")
OPUSOF_SIGNING_KEY_PATH = env_str("OPUSOF_SIGNING_KEY_PATH", str(VAR_DIR / "keys" / "holder-signing.pem"))
OPUSOF_SIGNING_KEY_ID = env_str("OPUSOF_SIGNING_KEY_ID", "")
# Local and test runs create the holder key on first use; production refuses to start without one.
OPUSOF_SIGNING_KEY_AUTOCREATE = True
# mTLS is terminated upstream; the client certificate arrives (URL-encoded PEM) in this header.
OPUSOF_MTLS_REQUIRED = env_bool("OPUSOF_MTLS_REQUIRED", False)
OPUSOF_CLIENT_CERT_HEADER = env_str("OPUSOF_CLIENT_CERT_HEADER", "X-SSL-Client-Cert")
OPUSOF_JWS_IAT_TOLERANCE_SECONDS = 60
# How long a used `jti` of a signed request body is refused again (payments v4 1.2.4.2: 24 h), in the database.
OPUSOF_JTI_TTL_SECONDS = env_int("OPUSOF_JTI_TTL_SECONDS", 86_400)
# After a publish to the broker failed, each process stops trying for this long (opusof.degrade); beat's database
# sweeps do the work meanwhile.
OPUSOF_BROKER_RETRY_AFTER_SECONDS = env_int("OPUSOF_BROKER_RETRY_AFTER_SECONDS", 10)
# How long an x-idempotency-key answers with the first response (payments v4: at least 24 h); expired records go.
OPUSOF_IDEMPOTENCY_TTL_SECONDS = env_int("OPUSOF_IDEMPOTENCY_TTL_SECONDS", 86_400)
# Retention (opusof.retention, docs/scaling.md): rows deleted per transaction by every purge task; days a
# delivered or failed webhook event (with its delivery attempts) and an HTTP connector call record are kept.
OPUSOF_RETENTION_BATCH_SIZE = env_int("OPUSOF_RETENTION_BATCH_SIZE", 5000)
OPUSOF_OUTBOX_RETENTION_DAYS = env_int("OPUSOF_OUTBOX_RETENTION_DAYS", 30)
OPUSOF_CONNECTOR_CALL_RETENTION_DAYS = env_int("OPUSOF_CONNECTOR_CALL_RETENTION_DAYS", 30)
OPUSOF_JWKS_CACHE_SECONDS = env_int("OPUSOF_JWKS_CACHE_SECONDS", 900)
# Four missed heartbeats (CELERY_BEAT_SCHEDULE) before /health calls the worker down.
OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS = env_int("OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS", 60)
# Webhooks to TPPs (opusof/outbox): attempts per event, backoff base/ceiling and per-attempt HTTP timeout.
OPUSOF_WEBHOOK_MAX_ATTEMPTS = env_int("OPUSOF_WEBHOOK_MAX_ATTEMPTS", 10)
OPUSOF_WEBHOOK_RETRY_BASE_SECONDS = env_int("OPUSOF_WEBHOOK_RETRY_BASE_SECONDS", 10)
OPUSOF_WEBHOOK_RETRY_MAX_SECONDS = env_int("OPUSOF_WEBHOOK_RETRY_MAX_SECONDS", 3600)
OPUSOF_WEBHOOK_TIMEOUT_SECONDS = env_int("OPUSOF_WEBHOOK_TIMEOUT_SECONDS", 10)
# Mutual TLS to the TPPs' webhook servers (OFB webhook convention): our transport certificate and key (PEM), and
# the CA bundle that verifies their servers (empty: the system's).
OPUSOF_WEBHOOK_CLIENT_CERT_PATH = env_str("OPUSOF_WEBHOOK_CLIENT_CERT_PATH", "")
OPUSOF_WEBHOOK_CLIENT_KEY_PATH = env_str("OPUSOF_WEBHOOK_CLIENT_KEY_PATH", "")
OPUSOF_WEBHOOK_CA_BUNDLE = env_str("OPUSOF_WEBHOOK_CA_BUNDLE", "")
# Merchant webhooks over mutual TLS (Efí ``webhookSecurity.type`` mtls, merchant/services/webhooks.py): the client
# certificate and key presented to the shop's server, and the CA bundle that verifies it (empty: the system's).
MERCHANT_WEBHOOK_CLIENT_CERT_PATH = env_str("MERCHANT_WEBHOOK_CLIENT_CERT_PATH", OPUSOF_WEBHOOK_CLIENT_CERT_PATH)
MERCHANT_WEBHOOK_CLIENT_KEY_PATH = env_str("MERCHANT_WEBHOOK_CLIENT_KEY_PATH", OPUSOF_WEBHOOK_CLIENT_KEY_PATH)
MERCHANT_WEBHOOK_CA_BUNDLE = env_str("MERCHANT_WEBHOOK_CA_BUNDLE", OPUSOF_WEBHOOK_CA_BUNDLE)

# Enrollments v2: minutes each waiting state may last before the beat (enrollments.expire_due_enrollments) rejects the
# enrollment with that state's REJEITADO_TEMPO_EXPIRADO_* reason. enrollments-2.1.0.yml (EnrollmentRejectionReason,
# lines 1624-1628: "Expiração automática devido a timeout no status ...") names the timeouts but gives no numbers;
# these are the OFB enrollment state machine's (wiki "Máquina de estados - v2.0.0 - SV Vínculo de dispositivo"), whose
# 15 minutes for the holder's validation the Opus initiator contract repeats (seeds/opus-initiator-api.md).
OPUSOF_ENROLLMENT_RISK_SIGNALS_TIMEOUT_MINUTES = env_int("OPUSOF_ENROLLMENT_RISK_SIGNALS_TIMEOUT_MINUTES", 5)
OPUSOF_ENROLLMENT_ACCOUNT_HOLDER_VALIDATION_TIMEOUT_MINUTES = env_int(
    "OPUSOF_ENROLLMENT_ACCOUNT_HOLDER_VALIDATION_TIMEOUT_MINUTES", 15
)
OPUSOF_ENROLLMENT_FIDO_REGISTRATION_TIMEOUT_MINUTES = env_int("OPUSOF_ENROLLMENT_FIDO_REGISTRATION_TIMEOUT_MINUTES", 5)

# Authorisation server (opusof/authserver): who may log in on the consent pages, and the OFB Directory key that
# signs software statements for dynamic client registration (a local stand-in key in var/ outside production).
OPUSOF_CUSTOMER_AUTHENTICATOR = env_str(
    "OPUSOF_CUSTOMER_AUTHENTICATOR", "opusof.authserver.customers.sandbox_authenticate"
)
OPUSOF_DIRECTORY_JWKS_PATH = env_str("OPUSOF_DIRECTORY_JWKS_PATH", str(VAR_DIR / "directory" / "jwks.json"))
OPUSOF_DIRECTORY_ISSUER = env_str("OPUSOF_DIRECTORY_ISSUER", "Open Banking Brasil prod SSA issuer")

# Initiator gateway (initiator/): opusof as a payment initiator (TPP) calling any holder over FAPI.
# Our organisation and software in the OFB Directory as an initiator (the `iss` of our request JWS, the `aud` of
# the holders' signed answers) — a different registration from the holder's OPUSOF_ORGANISATION_ID.
INITIATOR_ORGANISATION_ID = env_str("INITIATOR_ORGANISATION_ID", "5f1c2a9e-8b7d-4c3e-9a61-0d2e4b6f8a10")
INITIATOR_ORGANISATION_NAME = env_str("INITIATOR_ORGANISATION_NAME", "Opus Iniciadora Ltda")
INITIATOR_SOFTWARE_ID = env_str("INITIATOR_SOFTWARE_ID", "b7e3f1a2-4c5d-4e6f-8a9b-0c1d2e3f4a5b")
INITIATOR_CNPJ = env_str("INITIATOR_CNPJ", "11222333000181")
# Public base URL of the gateway (redirect URIs, webhook URI in the software statement); the platform's by default.
INITIATOR_BASE_URL = env_str("INITIATOR_BASE_URL", OPUSOF_BASE_URL).rstrip("/")
INITIATOR_SIGNING_KEY_PATH = env_str("INITIATOR_SIGNING_KEY_PATH", str(VAR_DIR / "keys" / "initiator-signing.pem"))
# OFB-Directory-style participants JSON (a list of organisations with AuthorisationServers): a file path or an
# https URL. Empty: our own holder alone, listed from OPUSOF_BASE_URL, so a local run needs no network.
INITIATOR_PARTICIPANTS_SOURCE = env_str("INITIATOR_PARTICIPANTS_SOURCE", "")
# Outbound mutual TLS to holders (OFB security profile: transport certificate); empty: no client certificate.
INITIATOR_MTLS_CERT_PATH = env_str("INITIATOR_MTLS_CERT_PATH", "")
INITIATOR_MTLS_KEY_PATH = env_str("INITIATOR_MTLS_KEY_PATH", "")
INITIATOR_CA_BUNDLE = env_str("INITIATOR_CA_BUNDLE", "")
INITIATOR_HTTP_CONNECT_TIMEOUT = float(env_str("INITIATOR_HTTP_CONNECT_TIMEOUT", "3"))
INITIATOR_HTTP_READ_TIMEOUT = float(env_str("INITIATOR_HTTP_READ_TIMEOUT", "15"))
# Fernet keys (comma-separated, newest first) that encrypt holder tokens at rest; empty: derived from SECRET_KEY
# (local runs only — production sets its own).
INITIATOR_TOKEN_KEYS = env_list("INITIATOR_TOKEN_KEYS", [])
# A consent read through the gateway is refreshed from the holder when the copy here is older than this.
# The authorisation response: JARM (response_type=code, response_mode=jwt; the browser path then sees it in the
# query) where the holder offers it, else the hybrid flow (code id_token in the fragment).
INITIATOR_PREFER_JARM = env_bool("INITIATOR_PREFER_JARM", True)
# Days the trace of holder calls and the delivered/failed notifications are kept (initiator.purge, daily).
INITIATOR_RETENTION_DAYS = env_int("INITIATOR_RETENTION_DAYS", 90)
INITIATOR_CONSENT_STALE_SECONDS = env_int("INITIATOR_CONSENT_STALE_SECONDS", 30)
# App links served at /.well-known/ (initiator_redirecionamento.md): JSON documents, empty by default.
INITIATOR_ANDROID_ASSET_LINKS = env_str("INITIATOR_ANDROID_ASSET_LINKS", "[]")
INITIATOR_APPLE_APP_SITE_ASSOCIATION = env_str("INITIATOR_APPLE_APP_SITE_ASSOCIATION", '{"applinks": {"details": []}}')

# Core-bank connectors, one implementation per capability of the Opus connector contract.
_SANDBOX = "connectors.sandbox.SandboxBank"
OPUSOF_CONNECTORS = {
    "validate_payment_data": env_str("OPUSOF_CONNECTOR_VALIDATE", _SANDBOX),
    "discover_accounts": env_str("OPUSOF_CONNECTOR_DISCOVERY", _SANDBOX),
    "initiate_payment": env_str("OPUSOF_CONNECTOR_INITIATE", _SANDBOX),
    "get_payment_status": env_str("OPUSOF_CONNECTOR_STATUS", _SANDBOX),
    "cancel_payment": env_str("OPUSOF_CONNECTOR_CANCEL", _SANDBOX),
}
# Pix devoluções of the merchant APIs (connectors.refunds.SendPixRefund): sent by the receiving merchant's own bank,
# not through Open Finance, so not a route of the Opus contract. The sandbox bank keeps the demo merchant's account;
# a deployment names its PSP's implementation (docs/merchant.md "Refunds"); empty: refunds are refused.
OPUSOF_REFUND_CONNECTOR = env_str("OPUSOF_CONNECTOR_REFUND", "connectors.sandbox.refunds.SandboxRefunds")
# HTTP connector (connectors.http.HttpBank) speaking the Opus connector routes: the bank's base URL and, per route,
# connect/read timeouts in seconds (validate and discovery sit in the customer's consent page, so they are short).
OPUSOF_CONNECTOR_HTTP_BASE_URL = env_str("OPUSOF_CONNECTOR_HTTP_BASE_URL", "")
OPUSOF_CONNECTOR_HTTP_CONNECT_TIMEOUT = float(env_str("OPUSOF_CONNECTOR_HTTP_CONNECT_TIMEOUT", "2"))
OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = {
    "validate": float(env_str("OPUSOF_CONNECTOR_HTTP_TIMEOUT_VALIDATE", "5")),
    "discovery": float(env_str("OPUSOF_CONNECTOR_HTTP_TIMEOUT_DISCOVERY", "5")),
    "initiate": float(env_str("OPUSOF_CONNECTOR_HTTP_TIMEOUT_INITIATE", "10")),
    "status": float(env_str("OPUSOF_CONNECTOR_HTTP_TIMEOUT_STATUS", "5")),
    "cancel": float(env_str("OPUSOF_CONNECTOR_HTTP_TIMEOUT_CANCEL", "10")),
}
OPUSOF_CONNECTOR_HTTP_BRAND_ID = env_str("OPUSOF_CONNECTOR_HTTP_BRAND_ID", "opusof")
# Attempts per call on the routes safe to repeat (first backoff in seconds, doubling), and the per-route breaker:
# consecutive unavailable calls that open it, seconds before one trial call may close it.
OPUSOF_CONNECTOR_HTTP_MAX_ATTEMPTS = env_int("OPUSOF_CONNECTOR_HTTP_MAX_ATTEMPTS", 3)
OPUSOF_CONNECTOR_HTTP_BACKOFF_SECONDS = float(env_str("OPUSOF_CONNECTOR_HTTP_BACKOFF_SECONDS", "0.1"))
OPUSOF_CONNECTOR_HTTP_BREAKER_FAIL_MAX = env_int("OPUSOF_CONNECTOR_HTTP_BREAKER_FAIL_MAX", 5)
OPUSOF_CONNECTOR_HTTP_BREAKER_RESET_SECONDS = float(env_str("OPUSOF_CONNECTOR_HTTP_BREAKER_RESET_SECONDS", "30"))
# JWS on the connector routes (connectors.http.signing): the contract's request bodies are application/jwt, signed
# with opusof's key (OPUSOF_SIGNING_KEY_PATH, published as opusof.keys.holder_public_jwks). Its responses are
# application/json; a bank that signs them too is verified against its JWKS (JSON text), and with
# REQUIRE_SIGNED_RESPONSES a plain JSON answer is refused.
OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS = env_bool("OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS", True)
OPUSOF_CONNECTOR_HTTP_BANK_JWKS = env_str("OPUSOF_CONNECTOR_HTTP_BANK_JWKS", "")
OPUSOF_CONNECTOR_HTTP_REQUIRE_SIGNED_RESPONSES = env_bool("OPUSOF_CONNECTOR_HTTP_REQUIRE_SIGNED_RESPONSES", False)
# Conformance-suite scenario amounts in the sandbox bank (docs/sandbox.md); never on in production.
# Payments v4 §2.3 / §4.2: the DICT check of a payment with a Pix key runs in the request ("sync": a refusal is a
# 422 and no payment) or after answering RCVD ("async": the worker rejects it RJCT, seen on GET).
OPUSOF_DICT_CHECK = env_str("OPUSOF_DICT_CHECK", "sync")
if OPUSOF_DICT_CHECK not in ("sync", "async"):
    raise ImproperlyConfigured(f"OPUSOF_DICT_CHECK must be 'sync' or 'async', not {OPUSOF_DICT_CHECK!r}")
OPUSOF_SANDBOX_SCENARIOS = env_bool("OPUSOF_SANDBOX_SCENARIOS", True)
# The business clock can be moved forward (opusof/clock.py, docs/sandbox.md); never in production.
OPUSOF_SANDBOX_CLOCK = env_bool("OPUSOF_SANDBOX_CLOCK", True)
# The beat tasks a move of the clock runs at once, in this order, in the process that moved it (opusof.clock
# .run_sweeps): what expires, then the moved-to day's payments at the bank and at the holder, then the gateway and
# the merchant layer reading them back. A task not registered (no sandbox bank) is skipped.
OPUSOF_SANDBOX_CLOCK_SWEEPS = [
    "consents.expire_due_consents",
    "recurring.expire_due_recurring_consents",
    "enrollments.expire_due_enrollments",
    "initiator.send_charges",
    "connectors.tasks.sandbox_settle_due",
    "payments.execute_due_payments",
    "payments.poll_open_payments",
    "recurring.poll_open_recurring_payments",
    "initiator.poll_open",
    "merchant.sync_plans",
]
if any(path.startswith("connectors.sandbox") for path in OPUSOF_CONNECTORS.values()):
    # The sandbox bank's own settlement run: scheduled payments due today and pending ones past their delay.
    CELERY_BEAT_SCHEDULE["sandbox-settle-due"] = {
        "task": "connectors.tasks.sandbox_settle_due",
        "schedule": 10.0,
        "options": {"expires": 10.0},
    }

# One JSON object per line on stderr, for web, worker and beat alike; `time` is UTC ISO 8601.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"interaction_id": {"()": "opusof.logging.InteractionIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(interaction_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["interaction_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's defaults print "django" (when DEBUG) and "django.server" lines in plain text of their own; send
    # them through the JSON handler instead of twice.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
