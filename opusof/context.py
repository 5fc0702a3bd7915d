"""Per-request context shared by logging and the API layer."""

from contextvars import ContextVar

interaction_id_var: ContextVar[str | None] = ContextVar("interaction_id", default=None)
