"""What every customer page shares: the security headers, the logged-in customer and the error page."""

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

CUSTOMER_KEY = "authserver_customer"
# A customer's login on these pages is good for this long; then they authenticate again.
CUSTOMER_LOGIN_SECONDS = 900
# No form-action: Chromium applies it to the redirect that follows a form post, and approving ends in a redirect
# to the TPP's registered URI.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

View = Callable[..., HttpResponse]


def customer_page(view: View) -> View:
    """No caching of personal data; a strict CSP (no scripts at all, inline styles only, no framing)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own form posts, which
        # Django's CSRF origin check (rightly) refuses; nothing is sent cross-origin either way.
        response["Referrer-Policy"] = "same-origin"
        response["X-Frame-Options"] = "DENY"
        response["X-Content-Type-Options"] = "nosniff"
        response.setdefault("Content-Security-Policy", CSP)
        return response

    return wrapper


def session_customer(request: HttpRequest) -> dict[str, str] | None:
    """The logged-in customer, if the login is recent enough: a consent is approved with a fresh authentication,
    never with a login left open on a shared device."""
    customer: dict[str, str] | None = request.session.get(CUSTOMER_KEY)
    if customer is None:
        return None
    age = timezone.now() - dt.datetime.fromisoformat(customer["auth_time"])
    if age.total_seconds() > CUSTOMER_LOGIN_SECONDS:
        request.session.pop(CUSTOMER_KEY, None)
        return None
    return customer


def error_page(request: HttpRequest, message: str, *, status: int = 400, retry_login: str = "") -> HttpResponse:
    context = {"message": message, "retry_login": retry_login}
    return render(request, "authserver/error.html", context, status=status)
