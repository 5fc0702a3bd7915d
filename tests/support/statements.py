"""Counting the SQL statements a request sends, ours apart from the sandbox bank's (issue 20's budgets).

    with StatementCount() as count:
        response = ...
    assert count.ours <= 12 and count.bank <= 6

Every statement through Django's connection is counted (``connection.execute_wrapper``); those sent while a
sandbox bank connector method runs are the bank's. Transaction control (BEGIN, COMMIT) is not a statement here."""

import contextvars
import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pytest
from django.db import connection

from connectors.sandbox import SandboxBank

_in_bank: contextvars.ContextVar[bool] = contextvars.ContextVar("statements_in_bank", default=False)
_BANK_METHODS = ("validate_payment_data", "initiate_payment", "get_payment_status", "get_payment_statuses")


def mark_bank_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Marks the sandbox bank's connector methods so that ``StatementCount`` charges their statements to it."""
    for name in _BANK_METHODS:
        method = getattr(SandboxBank, name)

        def marked(*args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            token = _in_bank.set(True)
            try:
                return _method(*args, **kwargs)
            finally:
                _in_bank.reset(token)

        monkeypatch.setattr(SandboxBank, name, functools.wraps(method)(marked))


class StatementCount:
    def __init__(self) -> None:
        self.ours: list[str] = []
        self.bank: list[str] = []

    def _count(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        (self.bank if _in_bank.get() else self.ours).append(sql)
        return execute(sql, params, many, context)

    def __enter__(self) -> "StatementCount":
        self._wrapper = connection.execute_wrapper(self._count)
        self._wrapper.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._wrapper.__exit__(kind, error, trace)

    def listing(self) -> str:
        return "\n".join(f"{'bank' if sql in self.bank else 'ours'}: {sql[:160]}" for sql in self.ours + self.bank)
