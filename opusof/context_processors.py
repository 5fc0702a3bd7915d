"""Template context every page shares."""

from django.conf import settings
from django.http import HttpRequest


def bank(request: HttpRequest) -> dict[str, str]:
    """The holder institution the pages speak for (settings OPUSOF_BANK_NAME, OPUSOF_ISPB)."""
    return {"bank_name": settings.OPUSOF_BANK_NAME, "bank_ispb": settings.OPUSOF_ISPB}
