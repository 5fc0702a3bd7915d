"""Login throttling that lasts what it says on every cache backend: the customer pages' login and the admin's.

Failures are counted per login name in the shared cache. Django's ``incr`` keeps the key's expiry only on Redis and
the local-memory cache; the file and database caches re-``set`` the value with the default timeout (300 s), which
turned a 15-minute lock into 5. So the window's end is stored once, and every increment ``touch``-es the counter
back to it.
"""

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

_NON_DIGITS = re.compile(r"[^0-9]")


@dataclass(frozen=True)
class LoginThrottle:
    scope: str
    max_failures: int
    lock_seconds: int

    def _key(self, name: str) -> str:
        return f"opusof:login-failures:{self.scope}:" + hashlib.sha256(name.encode("utf-8")).hexdigest()

    def locked(self, name: str) -> bool:
        return int(cache.get(self._key(name), 0)) >= self.max_failures

    def record_failure(self, name: str) -> None:
        """One more failure; the window started by the first failure is not extended by later ones."""
        key = self._key(name)
        now = time.time()
        cache.add(f"{key}:until", now + self.lock_seconds, timeout=self.lock_seconds)
        until = float(cache.get(f"{key}:until", now + self.lock_seconds))
        remaining = max(1, int(until - now))
        cache.add(key, 0, timeout=remaining)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=remaining)
        cache.touch(key, timeout=remaining)

    def clear(self, name: str) -> None:
        key = self._key(name)
        cache.delete_many([key, f"{key}:until"])


def cpf_digits(cpf: str) -> str:
    """The ASCII digits of a typed CPF (``str.isdigit`` would also keep other scripts' digits)."""
    return _NON_DIGITS.sub("", cpf)


CUSTOMER_LOGIN = LoginThrottle(scope="customer", max_failures=5, lock_seconds=900)
ADMIN_LOGIN = LoginThrottle(scope="admin", max_failures=5, lock_seconds=900)


def admin_login(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """The admin site's login behind ``ADMIN_LOGIN``: five wrong passwords for a username lock it for 15 minutes
    (Django's admin has no throttling of its own)."""
    username = request.POST.get("username", "") if request.method == "POST" else ""
    if username and ADMIN_LOGIN.locked(username):
        return HttpResponse(
            "Acesso bloqueado temporariamente por tentativas inválidas. Tente mais tarde.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    response = admin.site.login(request, **kwargs)
    if username:
        if request.user.is_authenticated:
            ADMIN_LOGIN.clear(username)
        else:
            ADMIN_LOGIN.record_failure(username)
    return response
