"""Environment parsing, production's refusal to start half-configured, and the local embedded defaults.

Settings modules are imported in a child process with a controlled environment (forked from one probe server,
tests/support/settings_probe.py), so this process's settings stay as pytest-django loaded them.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from opusof.settings.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str
from tests.support.settings_probe import SettingsProbe

ROOT = Path(__file__).resolve().parent.parent
_SIGNING_KEY_PEM = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)

PROBE = """
import importlib, json, sys
try:
    module = importlib.import_module(sys.argv[1])
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    sys.exit(0)
print(json.dumps({
    "DEBUG": module.DEBUG,
    "ENGINE": module.DATABASES["default"]["ENGINE"],
    "DB_NAME": str(module.DATABASES["default"]["NAME"]),
    "DB_OPTIONS": {k: v for k, v in module.DATABASES["default"].get("OPTIONS", {}).items() if k != "init_command"},
    "CACHE": module.CACHES["default"]["BACKEND"],
    "CACHE_OPTIONS": module.CACHES["default"].get("OPTIONS", {}),
    "BROKER": module.CELERY_BROKER_URL,
    "BROKER_OPTIONS": {k: str(v) for k, v in module.CELERY_BROKER_TRANSPORT_OPTIONS.items()},
    "ALLOWED_HOSTS": module.ALLOWED_HOSTS,
    "SANDBOX": module.OPUSOF_SANDBOX_SCENARIOS,
    "CLOCK": module.OPUSOF_SANDBOX_CLOCK,
    "SHOP": module.SHOP_ENABLED,
    "BASE_URL": module.OPUSOF_BASE_URL,
    "BEAT": sorted(module.CELERY_BEAT_SCHEDULE),
}))
"""

# Everything settings read; cleared so the developer's or CI's environment cannot leak into a case.
SETTINGS_VARIABLES = [
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "DB_CONN_MAX_AGE",
    "DB_PREPARED_STATEMENTS",
    "REDIS_URL",
    "LOG_LEVEL",
    "OPUSOF_VAR_DIR",
    "OPUSOF_BIND",
    "OPUSOF_BASE_URL",
    "OPUSOF_ORGANISATION_ID",
    "OPUSOF_ISPB",
    "OPUSOF_SIGNING_KEY_PATH",
    "OPUSOF_SIGNING_KEY_ID",
    "OPUSOF_MTLS_REQUIRED",
    "OPUSOF_CLIENT_CERT_HEADER",
    "OPUSOF_JWKS_CACHE_SECONDS",
    "OPUSOF_HEALTH_WORKER_MAX_AGE_SECONDS",
    "OPUSOF_SANDBOX_SCENARIOS",
    "OPUSOF_SANDBOX_CLOCK",
    "SHOP_ENABLED",
    "SHOP_MERCHANT_API_URL",
    "SHOP_CLIENT_ID",
    "SHOP_CLIENT_SECRET",
    "SECURE_HSTS_SECONDS",
    "INITIATOR_TOKEN_KEYS",
    "DJANGO_SETTINGS_MODULE",
    "OPUSOF_ENV_FILE",
    "OPUSOF_CONNECTOR_REFUND",
]
CONNECTOR_VARIABLES = [
    "OPUSOF_CONNECTOR_VALIDATE",
    "OPUSOF_CONNECTOR_DISCOVERY",
    "OPUSOF_CONNECTOR_INITIATE",
    "OPUSOF_CONNECTOR_STATUS",
    "OPUSOF_CONNECTOR_CANCEL",
]
GOOD_SECRET = "k3J9x!q2Lm8#Rt5vWz0@pY7sDf4&Hg6nBc1^Ae9*Ui3%Oo2-Pl8"

# Beat entries every deployment runs (opusof/settings/beat.py CELERY_BEAT_SCHEDULE).
PLATFORM_BEAT = (
    "worker-heartbeat",
    "payments-poll-open",
    "payments-resubmit-stalled-batches",
    "consents-expire-due",
    "enrollments-expire-due",
    "idempotency-purge",
    "jti-purge",
    "outbox-purge",
    "connector-calls-purge",
    "recurring-poll-open",
    "recurring-consents-expire-due",
    "outbox-dispatch",
    "payments-run-due",
    "initiator-refresh-participants",
    "initiator-poll-open",
    "initiator-send-charges",
    "initiator-notify-pending",
    "initiator-purge",
    "merchant-deliver-webhooks",
    "merchant-resolve-refunds",
    "merchant-sync-plans",
)


_probe: SettingsProbe | None = None


@pytest.fixture(scope="module", autouse=True)
def settings_probe() -> Iterator[SettingsProbe]:
    """One probe server for the module: each import forks from it instead of starting an interpreter."""
    global _probe
    with SettingsProbe(cwd=ROOT, probe=PROBE) as _probe:
        yield _probe
    _probe = None


def import_settings(module: str, env: dict[str, str]) -> dict:
    assert _probe is not None
    base_env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES + CONNECTOR_VARIABLES}
    return _probe.load(module, {**base_env, "OPUSOF_ENV_FILE": os.devnull, **env})


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    key = tmp_path / "holder-signing.pem"
    key.write_bytes(_SIGNING_KEY_PEM)
    return {
        "SECRET_KEY": GOOD_SECRET,
        "DATABASE_URL": "postgres://opusof:secret@db.internal:5432/opusof",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "ALLOWED_HOSTS": "api.bank.example, admin.bank.example",
        "OPUSOF_BASE_URL": "https://api.bank.example/",
        "OPUSOF_SIGNING_KEY_PATH": str(key),
        "OPUSOF_SIGNING_KEY_ID": "holder-2026",
        "OPUSOF_VAR_DIR": str(tmp_path / "var"),
        "INITIATOR_TOKEN_KEYS": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
        **{name: "bank_connectors.http.CoreBank" for name in CONNECTOR_VARIABLES},
    }


# --- env.py ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " yes ", "on"])
def test_env_bool_true_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("OPUSOF_T", raw)
    assert env_bool("OPUSOF_T", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off"])
def test_env_bool_false_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("OPUSOF_T", raw)
    assert env_bool("OPUSOF_T", True) is False


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_or_blank_means_default(monkeypatch: pytest.MonkeyPatch, raw: str | None) -> None:
    if raw is None:
        monkeypatch.delenv("OPUSOF_T", raising=False)
    else:
        monkeypatch.setenv("OPUSOF_T", raw)
    assert env_bool("OPUSOF_T", True) is True
    assert env_int("OPUSOF_T", 7) == 7
    assert env_list("OPUSOF_T", ["a"]) == ["a"]
    assert env_str("OPUSOF_T", "d") == "d"


def test_env_bool_rejects_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPUSOF_T", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="OPUSOF_T must be a boolean"):
        env_bool("OPUSOF_T", False)


def test_env_int_parses_and_rejects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPUSOF_T", " 42 ")
    assert env_int("OPUSOF_T", 0) == 42
    monkeypatch.setenv("OPUSOF_T", "4.2")
    with pytest.raises(ImproperlyConfiguredEnv, match="OPUSOF_T must be an integer"):
        env_int("OPUSOF_T", 0)


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPUSOF_T", " a.example , ,b.example,")
    assert env_list("OPUSOF_T", []) == ["a.example", "b.example"]


def test_env_list_default_is_not_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPUSOF_T", raising=False)
    default = ["x"]
    env_list("OPUSOF_T", default).append("y")
    assert default == ["x"]


def test_env_str_without_default_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPUSOF_T", raising=False)
    with pytest.raises(ImproperlyConfiguredEnv, match="OPUSOF_T is required"):
        env_str("OPUSOF_T")
    monkeypatch.setenv("OPUSOF_T", "value")
    assert env_str("OPUSOF_T") == "value"


# --- production.py ---------------------------------------------------------------------------------------------


def test_production_starts_with_everything_set(production_env: dict[str, str]) -> None:
    loaded = import_settings("opusof.settings.production", production_env)

    assert "error" not in loaded, loaded
    assert loaded["DEBUG"] is False
    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["BROKER"] == "redis://cache.internal:6379/0"
    assert loaded["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["ALLOWED_HOSTS"] == ["api.bank.example", "admin.bank.example"]
    assert loaded["SANDBOX"] is False
    assert (loaded["CLOCK"], loaded["SHOP"]) == (False, False)
    assert loaded["BASE_URL"] == "https://api.bank.example"
    assert "sandbox-settle-due" not in loaded["BEAT"], "no sandbox settlement run in production"
    assert set(loaded["BEAT"]) == set(PLATFORM_BEAT)


def test_production_never_moves_the_business_clock(production_env: dict[str, str]) -> None:
    loaded = import_settings("opusof.settings.production", {**production_env, "OPUSOF_SANDBOX_CLOCK": "true"})

    assert loaded["CLOCK"] is False


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "OPUSOF_BASE_URL",
        "OPUSOF_SIGNING_KEY_PATH",
        "OPUSOF_SIGNING_KEY_ID",
        "INITIATOR_TOKEN_KEYS",
    ],
)
def test_production_refuses_to_start_without(production_env: dict[str, str], missing: str) -> None:
    del production_env[missing]

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert missing in loaded["message"]


@pytest.mark.parametrize(
    "secret",
    [
        "insecure-local-only-secret-key-change-me-insecure-local-only-secret",
        "django-insecure-8c0b1f5a9e3d4c7b2a6f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5",
        "too-short-but-random-9f8e7d6c5b4a",
        "a" * 40 + "b" * 20,
    ],
    ids=["insecure-prefix", "django-insecure-prefix", "short", "low-entropy"],
)
def test_production_refuses_a_weak_secret_key(production_env: dict[str, str], secret: str) -> None:
    production_env["SECRET_KEY"] = secret

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert "SECRET_KEY" in loaded["message"]


def test_production_refuses_a_missing_signing_key_file(production_env: dict[str, str], tmp_path: Path) -> None:
    production_env["OPUSOF_SIGNING_KEY_PATH"] = str(tmp_path / "absent.pem")

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert "absent.pem" in loaded["message"]


@pytest.mark.parametrize(
    "content",
    [b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", b"", b"ssh-rsa AAAA"],
    ids=["pem-armour-only", "empty", "not-pem"],
)
def test_production_refuses_a_signing_key_that_is_not_a_pem_key(
    production_env: dict[str, str], tmp_path: Path, content: bytes
) -> None:
    Path(production_env["OPUSOF_SIGNING_KEY_PATH"]).write_bytes(content)

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert "PEM" in loaded["message"]


def test_production_refuses_a_signing_key_that_is_not_rsa(production_env: dict[str, str]) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    Path(production_env["OPUSOF_SIGNING_KEY_PATH"]).write_bytes(pem)

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert "RSA" in loaded["message"]


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("DATABASE_URL", "sqlite:////tmp/opusof.sqlite3", "PostgreSQL"),
        ("OPUSOF_BASE_URL", "http://api.bank.example", "https"),
        ("ALLOWED_HOSTS", " , ", "ALLOWED_HOSTS"),
        ("OPUSOF_CONNECTOR_INITIATE", "connectors.sandbox.SandboxBank", "initiate_payment"),
        ("OPUSOF_CONNECTOR_REFUND", "connectors.sandbox.refunds.SandboxRefunds", "OPUSOF_CONNECTOR_REFUND"),
    ],
)
def test_production_refuses_embedded_or_insecure_choices(
    production_env: dict[str, str], name: str, value: str, fragment: str
) -> None:
    production_env[name] = value

    loaded = import_settings("opusof.settings.production", production_env)

    assert loaded.get("error") == "ImproperlyConfiguredEnv", loaded
    assert fragment in loaded["message"]


# --- local.py --------------------------------------------------------------------------------------------------


def test_local_defaults_to_embedded_sqlite_and_filesystem_broker(tmp_path: Path) -> None:
    var = tmp_path / "var"

    loaded = import_settings("opusof.settings.local", {"OPUSOF_VAR_DIR": str(var)})

    assert loaded["DEBUG"] is True
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["DB_NAME"] == str(var / "opusof.sqlite3")
    assert loaded["BROKER"].startswith("filesystem://")
    assert loaded["CACHE"] == "django.core.cache.backends.filebased.FileBasedCache"
    # Django's default of 300 entries would cull the heartbeat and jti replay keys.
    assert loaded["CACHE_OPTIONS"]["MAX_ENTRIES"] >= 100_000
    assert loaded["SANDBOX"] is True
    assert loaded["BASE_URL"] == "http://127.0.0.1:8000"
    assert set(loaded["BEAT"]) == {"sandbox-settle-due", *PLATFORM_BEAT}
    # kombu's filesystem transport needs its folders before the first publish.
    for option in ("data_folder_in", "data_folder_out", "control_folder"):
        folder = Path(loaded["BROKER_OPTIONS"][option])
        assert folder.is_dir()
        assert var in folder.parents


def test_local_uses_postgresql_and_redis_when_set(tmp_path: Path) -> None:
    loaded = import_settings(
        "opusof.settings.local",
        {
            "OPUSOF_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/opusof_demo",
            "REDIS_URL": "redis://127.0.0.1:6379/14",
        },
    )

    assert loaded["ENGINE"] == "django.db.backends.postgresql"
    assert loaded["DB_NAME"] == "opusof_demo"
    assert loaded["BROKER"] == "redis://127.0.0.1:6379/14"
    assert loaded["CACHE"] == "django.core.cache.backends.redis.RedisCache"
    assert not (tmp_path / "var" / "celery").exists()


def test_local_rejects_a_malformed_boolean(tmp_path: Path) -> None:
    loaded = import_settings("opusof.settings.local", {"OPUSOF_VAR_DIR": str(tmp_path), "DEBUG": "sometimes"})

    assert loaded.get("error") == "ImproperlyConfiguredEnv"
    assert "DEBUG" in loaded["message"]


@pytest.mark.parametrize(
    ("bind", "base_url"),
    [("127.0.0.1:8100", "http://127.0.0.1:8100"), ("0.0.0.0:9000", "http://127.0.0.1:9000")],
)
def test_local_base_url_follows_the_bind(tmp_path: Path, bind: str, base_url: str) -> None:
    loaded = import_settings("opusof.settings.local", {"OPUSOF_VAR_DIR": str(tmp_path), "OPUSOF_BIND": bind})

    assert loaded["BASE_URL"] == base_url


def test_an_explicit_base_url_wins_over_the_bind(tmp_path: Path) -> None:
    loaded = import_settings(
        "opusof.settings.local",
        {"OPUSOF_VAR_DIR": str(tmp_path), "OPUSOF_BIND": "0.0.0.0:9000", "OPUSOF_BASE_URL": "https://x.example/"},
    )

    assert loaded["BASE_URL"] == "https://x.example"


@pytest.mark.parametrize(
    ("flag", "options"), [("", {"server_side_binding": True, "prepare_threshold": 1}), ("false", {})]
)
def test_postgresql_prepared_statements_can_be_turned_off(tmp_path: Path, flag: str, options: dict) -> None:
    loaded = import_settings(
        "opusof.settings.local",
        {
            "OPUSOF_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "DB_PREPARED_STATEMENTS": flag,
        },
    )
    assert loaded["DB_OPTIONS"] == options


# --- .env ------------------------------------------------------------------------------------------------------


def test_a_dotenv_file_configures_every_terminal_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/from_dotenv\n"
        "REDIS_URL=redis://127.0.0.1:6379/14\n"
        "OPUSOF_BIND=127.0.0.1:8123\n"
    )
    loaded = import_settings(
        "opusof.settings.local", {"OPUSOF_ENV_FILE": str(env_file), "OPUSOF_VAR_DIR": str(tmp_path / "var")}
    )
    assert (loaded["DB_NAME"], loaded["BROKER"]) == ("from_dotenv", "redis://127.0.0.1:6379/14")
    assert loaded["BASE_URL"] == "http://127.0.0.1:8123"

    overridden = import_settings(
        "opusof.settings.local",
        {"OPUSOF_ENV_FILE": str(env_file), "OPUSOF_VAR_DIR": str(tmp_path / "var"), "OPUSOF_BIND": "127.0.0.1:8124"},
    )
    assert overridden["BASE_URL"] == "http://127.0.0.1:8124"
    assert overridden["DB_NAME"] == "from_dotenv"


def test_without_a_dotenv_file_the_embedded_defaults_hold(tmp_path: Path) -> None:
    loaded = import_settings(
        "opusof.settings.local",
        {"OPUSOF_ENV_FILE": str(tmp_path / "absent.env"), "OPUSOF_VAR_DIR": str(tmp_path / "var")},
    )
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["BROKER"] == "filesystem://localhost/"
