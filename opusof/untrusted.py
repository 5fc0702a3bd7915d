"""What untrusted input may contain before our code or the database sees it.

Two limits the regulator's schemas do not state but every parse needs: a nesting depth (Python's JSON decoder
raises ``RecursionError``, not ``ValueError``, past ~1 000 levels, so a 10 000-level body was a 500) and no NUL
character (U+0000), which PostgreSQL cannot store in text and refuses with ``DataError``.
"""

import json
from typing import Any

# The regulated bodies nest at most ~8 levels (payments v4 consent: data.payment.details.creditorAccount...).
MAX_JSON_DEPTH = 64
NUL = "\x00"


class UntrustedInputError(ValueError):
    """Input refused before use; a ``ValueError`` so existing 'malformed JSON' handlers catch it too."""


class TooDeeplyNested(UntrustedInputError):
    pass


class NulCharacter(UntrustedInputError):
    pass


def json_loads(raw: str | bytes) -> Any:
    """``json.loads`` that raises ``UntrustedInputError`` (a ``ValueError``) for too deep a document or a NUL."""
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise TooDeeplyNested(f"JSON aninhado além de {MAX_JSON_DEPTH} níveis.") from exc
    check_json(value)
    return value


def check_json(value: Any) -> None:
    """Raises for a document nested deeper than ``MAX_JSON_DEPTH`` or holding a NUL in any key or string.

    Iterative, so a document already parsed (a JWS payload, a form) is walked without recursion.
    """
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if NUL in node:
                raise NulCharacter("O caractere NUL (U+0000) não é aceito.")
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise TooDeeplyNested(f"JSON aninhado além de {MAX_JSON_DEPTH} níveis.")
            if isinstance(node, dict):
                pending.extend((key, depth) for key in node)
                pending.extend((item, depth + 1) for item in node.values())
            else:
                pending.extend((item, depth + 1) for item in node)


def has_nul(*texts: str) -> bool:
    return any(NUL in text for text in texts)
