"""Request headers every regulated endpoint shares (payments v4 components.parameters)."""

import re
import uuid

from django.http import HttpRequest

INTERACTION_ID_HEADER = "x-fapi-interaction-id"
IDEMPOTENCY_KEY_HEADER = "x-idempotency-key"

# components.schemas.XFapiInteractionId
INTERACTION_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# components.parameters.XIdempotencyKey: 1..40 characters, no leading or trailing whitespace.
IDEMPOTENCY_KEY_RE = re.compile(r"(?!\s)(.*)(\S)")
IDEMPOTENCY_KEY_MAX = 40
# components.parameters.xFapiAuthDate: RFC 7231 IMF-fixdate, exactly 29 characters.
AUTH_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} (GMT|UTC)",
    re.ASCII,
)
AUTH_DATE_LENGTH = 29
# xFapiCustomerIpAddress / xCustomerUserAgent: 1..100 characters.
FREE_TEXT_HEADERS = ("x-fapi-customer-ip-address", "x-customer-user-agent")
FREE_TEXT_MAX = 100

_STATE_KEY = "opusof.interaction_id"


def _resolve(request: HttpRequest) -> tuple[str, str | None]:
    value = request.headers.get(INTERACTION_ID_HEADER)
    if value is None or value == "":
        return str(uuid.uuid4()), "missing"
    if not INTERACTION_ID_RE.fullmatch(value):
        return str(uuid.uuid4()), "invalid"
    return value, None


def interaction_id_state(request: HttpRequest) -> tuple[str, str | None]:
    """(the id to echo, None | "missing" | "invalid"), computed once per request.

    A missing or invalid id is replaced by one we generate, which the TPP must adopt (XFapiInteractionId).
    """
    state: tuple[str, str | None] | None = request.META.get(_STATE_KEY)
    if state is None:
        state = _resolve(request)
        request.META[_STATE_KEY] = state
    return state


def interaction_id_for(request: HttpRequest) -> str:
    return interaction_id_state(request)[0]


def is_valid_idempotency_key(value: str) -> bool:
    return 0 < len(value) <= IDEMPOTENCY_KEY_MAX and IDEMPOTENCY_KEY_RE.fullmatch(value) is not None


def is_valid_auth_date(value: str) -> bool:
    return len(value) == AUTH_DATE_LENGTH and AUTH_DATE_RE.fullmatch(value) is not None
