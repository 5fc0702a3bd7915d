"""Pieces every regulated response body carries (payments v4 components.schemas.Meta and LinkSingle)."""

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request

from opusof.timeutil import now_rfc3339


def meta() -> dict[str, str]:
    """Payments v4 ``Meta``: only ``requestDateTime`` (RFC 3339 UTC, no fractions) is defined and required."""
    return {"requestDateTime": now_rfc3339()}


def self_link(request: Request | HttpRequest, path: str | None = None) -> dict[str, str]:
    """``links.self``: the full public URI of this resource (``path`` when the resource is not the request's,
    e.g. the created resource of a POST)."""
    return {"self": f"{settings.OPUSOF_BASE_URL}{path if path is not None else request.path}"}
