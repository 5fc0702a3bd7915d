"""Typed access to the environment; settings read configuration only through here.

An empty variable counts as unset, so ``FOO= make run`` falls back to the default instead of producing ``""``.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv


class ImproperlyConfiguredEnv(ImproperlyConfigured):
    """A required variable is missing or a value cannot be parsed; raised at settings import."""


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def env_str(name: str, default: str | None = None) -> str:
    """The variable's value; ``default=None`` makes it required."""
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfiguredEnv(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(
        f"environment variable {name} must be a boolean (1/0, true/false, yes/no, on/off), got {value!r}"
    )


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"environment variable {name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Comma-separated values, blanks dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def load_env_file(path: Path) -> Path | None:
    """Reads ``KEY=value`` lines from ``path`` into the environment, if the file exists; a variable already set in
    the environment wins. Every process of a checkout (web, worker, ``manage.py`` in a second terminal) reads the
    same file, so they agree on the database, broker and base URL. Returns the file read, or None."""
    if not path.is_file():
        return None
    load_dotenv(path, override=False)
    return path
