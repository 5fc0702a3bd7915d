"""Bench-only instrumentation (bench/bench_settings.py installs it; never in the product's settings): the SQL
statements of each request, counted by ``connection.execute_wrapper``, returned in the ``X-Bench-Sql`` response
header as ``<ours>;<sandbox bank's>``. The sandbox bank's calls are marked by wrapping its connector methods, so
its statements are told apart from ours whatever tables they touch."""

import contextvars
import functools
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

from connectors.sandbox import SandboxBank

_in_sandbox: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_in_sandbox", default=False)
_SANDBOX_METHODS = (
    "validate_payment_data",
    "discover_accounts",
    "initiate_payment",
    "get_payment_status",
    "get_payment_statuses",
    "cancel_payment",
    "lookup_pix_key",
)


def _marked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _in_sandbox.set(True)
        try:
            return method(*args, **kwargs)
        finally:
            _in_sandbox.reset(token)

    return wrapper


for _name in _SANDBOX_METHODS:
    setattr(SandboxBank, _name, _marked(getattr(SandboxBank, _name)))


class StatementCounter:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counts = [0, 0]

        def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            counts[1 if _in_sandbox.get() else 0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-Bench-Sql"] = f"{counts[0]};{counts[1]}"
        return response
