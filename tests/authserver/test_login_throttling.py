"""Login throttling lasts what it says (15 minutes) on every cache backend, on the customer pages and the admin."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from opusof.authserver.throttling import ADMIN_LOGIN, CUSTOMER_LOGIN
from tests.authserver.test_customer_pages import login
from tests.support.oauth_tpp import wsgi_http
from tests.support.payment_bodies import ANA_CPF

BACKENDS = {
    "file": "django.core.cache.backends.filebased.FileBasedCache",
    "database": "django.core.cache.backends.db.DatabaseCache",
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
}


@pytest.fixture(params=sorted(BACKENDS))
def cache_backend(request: Any, tmp_path: Path, db: None) -> Iterator[str]:
    from django.conf import settings
    from django.core.management import call_command

    backend = BACKENDS[request.param]
    location = {
        "file": str(tmp_path / "cache"),
        "database": "opusof_test_cache",
        "locmem": "throttling",
        "redis": settings.CACHES["default"].get("LOCATION", "redis://127.0.0.1:6379/4"),
    }[request.param]
    if request.param == "redis" and "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("no Redis configured")
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": location}}):
        if request.param == "database":
            call_command("createcachetable", verbosity=0)
        from django.core.cache import cache

        cache.clear()
        yield request.param
        cache.clear()


def _later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def _seconds_left(key: str) -> float:
    """The expiry the backend itself holds for ``key``, read the way each backend stores it."""
    from django.core.cache import caches
    from django.db import connection

    real: Any = caches["default"]
    raw_key = real.make_key(key)
    name = type(real).__name__
    if name == "FileBasedCache":
        import pickle

        with open(real._key_to_file(key), "rb") as handle:
            return float(pickle.load(handle)) - time.time()
    if name == "LocMemCache":
        return float(real._expire_info[raw_key]) - time.time()
    if name == "RedisCache":
        return float(real._cache.get_client(raw_key).ttl(raw_key))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT expires FROM {real._table} WHERE cache_key = %s", [raw_key])
        (expires,) = cursor.fetchone()
    return expires.timestamp() - time.time()


def test_the_customer_lock_lasts_fifteen_minutes_on_every_cache(cache_backend: str, demo_bank: Any) -> None:
    http = wsgi_http()
    for _ in range(CUSTOMER_LOGIN.max_failures):
        assert login(http, ANA_CPF, "wrong").status_code == 401

    assert "bloqueado" in login(http, ANA_CPF).text  # the right password no longer helps
    left = _seconds_left(CUSTOMER_LOGIN._key(ANA_CPF))
    assert CUSTOMER_LOGIN.lock_seconds - 60 < left <= CUSTOMER_LOGIN.lock_seconds, (cache_backend, left)


@pytest.mark.parametrize("cache_backend", ["file", "locmem"], indirect=True)
def test_the_lock_lifts_after_fifteen_minutes_not_five(
    cache_backend: str, demo_bank: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = wsgi_http()
    for _ in range(CUSTOMER_LOGIN.max_failures):
        login(http, ANA_CPF, "wrong")

    _later(monkeypatch, 6 * 60)
    assert "bloqueado" in login(http, ANA_CPF).text
    _later(monkeypatch, 16 * 60)
    assert login(http, ANA_CPF).status_code == 302


@pytest.mark.parametrize("cache_backend", ["file", "locmem"], indirect=True)
def test_later_failures_do_not_extend_the_window(cache_backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    CUSTOMER_LOGIN.record_failure(ANA_CPF)
    _later(monkeypatch, 14 * 60)
    for _ in range(CUSTOMER_LOGIN.max_failures):
        CUSTOMER_LOGIN.record_failure(ANA_CPF)
    assert CUSTOMER_LOGIN.locked(ANA_CPF)

    _later(monkeypatch, 16 * 60)

    assert not CUSTOMER_LOGIN.locked(ANA_CPF)


def test_the_admin_login_is_throttled(db: None) -> None:
    get_user_model().objects.create_superuser("staff", "staff@example.com", "right-password")
    client = Client()
    for _ in range(ADMIN_LOGIN.max_failures):
        response = client.post("/admin/login/", {"username": "staff", "password": "wrong"})
        assert response.status_code == 200  # the admin's own "please enter the correct username" form

    locked = client.post("/admin/login/", {"username": "staff", "password": "right-password"})

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.post("/admin/login/", {"username": "other", "password": "wrong"}).status_code == 200


def test_a_successful_admin_login_clears_the_count(db: None) -> None:
    get_user_model().objects.create_superuser("staff", "staff@example.com", "right-password")
    client = Client()
    for _ in range(ADMIN_LOGIN.max_failures - 1):
        client.post("/admin/login/", {"username": "staff", "password": "wrong"})

    response = client.post("/admin/login/", {"username": "staff", "password": "right-password", "next": "/admin/"})

    assert response.status_code == 302
    assert not ADMIN_LOGIN.locked("staff")
