"""Every refusal a dialect renders, as one ``MerchantError``: the domain's own, and DRF's (malformed JSON, method,
media type, unknown path, throttling, any other) under kinds of their own, so each dialect's exception handler is
one lookup in its tables (merchant/efi/errors.py, merchant/belvo/errors.py) rather than a chain of its own."""

from rest_framework import exceptions

from merchant.errors import MerchantError

# Matched in this order: the specific refusals before APIException, their base.
_FRAMEWORK_KINDS: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.ParseError, "malformed_body"),
    (exceptions.MethodNotAllowed, "method"),
    (exceptions.UnsupportedMediaType, "media_type"),
    (exceptions.NotFound, "no_route"),
    (exceptions.Throttled, "throttled"),
    (exceptions.APIException, "framework"),
)


class FrameworkRefusal(MerchantError):
    """A refusal DRF raised before the view ran (``kind`` one of ``_FRAMEWORK_KINDS``, ``message`` DRF's detail)."""

    def __init__(self, kind: str, message: str, status_code: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.status_code = status_code


def as_merchant_error(exc: Exception) -> MerchantError | None:
    """``exc`` as the MerchantError a dialect renders; None for anything else (a bug: DRF answers it 500)."""
    if isinstance(exc, MerchantError):
        return exc
    for framework_class, kind in _FRAMEWORK_KINDS:
        if isinstance(exc, framework_class):
            return FrameworkRefusal(kind, str(exc.detail), exc.status_code)
    return None
