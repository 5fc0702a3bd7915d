"""``/sandbox/clock``: read, move forward and reset the business clock over HTTP (sandbox only, docs/sandbox.md).

Who may call it: a merchant, with its Efí bearer token or its client id and secret as HTTP Basic (the demo shop
and any shop trying a monthly plan), or a logged-in staff member (session, with Django's CSRF check). In
production (``OPUSOF_SANDBOX_CLOCK`` forced off) every method answers 404 with a body saying why.

    GET    /sandbox/clock                      → the clock
    POST   /sandbox/clock {"advance": "P1M"}   → moved forward (also "P30D", "30d", or {"days": 30}), then the
                                                 due sweeps run before the answer (``sweeps``)
    DELETE /sandbox/clock                      → back to real time
"""

import base64
import binascii
import datetime as dt
import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from merchant.errors import Unauthenticated
from merchant.services.merchants import merchant_authenticate, token_authenticate
from opusof import clock
from opusof.timeutil import rfc3339


def clock_state() -> dict[str, Any]:
    moved = clock.offset()
    return {
        "now": rfc3339(clock.now()),
        "today": clock.today().isoformat(),
        "realNow": rfc3339(timezone.now()),
        "offsetSeconds": int(moved.total_seconds()),
        "offsetDays": moved.days,
    }


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _caller(request: HttpRequest) -> str | None:
    """Who is asking (for the log), or None when nobody acceptable is."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    try:
        if scheme.lower() == "bearer":
            return f"merchant:{token_authenticate(authorization=authorization).client_id}"
        if scheme.lower() == "basic":
            client_id, _, secret = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            return f"merchant:{merchant_authenticate(client_id=client_id, client_secret=secret).client_id}"
    except (Unauthenticated, binascii.Error, UnicodeDecodeError):
        return None
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return f"staff:{user.get_username()}"
    return None


def _advance_of(request: HttpRequest) -> dt.timedelta:
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise clock.ClockRefused("Corpo JSON inválido.") from None
    if not isinstance(body, dict):
        raise clock.ClockRefused('Envie {"advance": "P1M"} ou {"days": 30}.')
    if isinstance(body.get("days"), int) and not isinstance(body.get("days"), bool):
        return dt.timedelta(days=body["days"])
    if isinstance(body.get("advance"), str):
        return clock.parse_advance(body["advance"])
    raise clock.ClockRefused('Envie {"advance": "P1M"} ou {"days": 30}.')


def _no_response(request: HttpRequest) -> HttpResponse:
    """A view that is not CSRF-exempt, for checking a session caller's token by hand."""
    return HttpResponse()


@csrf_exempt  # checked below for session callers only; a merchant's credentials are not ambient
def sandbox_clock(request: HttpRequest) -> HttpResponse:
    if not clock.movable():
        return _error(404, "not_available", "O relógio de negócio só existe em sandbox; em produção o tempo é o real.")
    if request.method not in ("GET", "POST", "DELETE"):
        return _error(405, "method_not_allowed", f"Método {request.method} não permitido.")
    caller = _caller(request)
    if caller is None:
        return _error(401, "unauthenticated", "Credenciais de lojista (Bearer ou Basic) ou sessão da equipe.")
    if caller.startswith("staff:") and request.method != "GET":
        refused = CsrfViewMiddleware(_no_response).process_view(request, _no_response, (), {})
        if refused is not None:
            return _error(403, "csrf_failed", "Token CSRF ausente ou inválido.")
    if request.method == "GET":
        return JsonResponse(clock_state())
    if request.method == "DELETE":
        clock.reset(by=caller)
        return JsonResponse(clock_state())
    try:
        clock.advance(_advance_of(request), by=caller)
    except clock.ClockRefused as exc:
        return _error(422, "invalid_advance", str(exc))
    return JsonResponse({**clock_state(), "sweeps": clock.run_sweeps()})
