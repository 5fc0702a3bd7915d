"""What the merchant domain refuses, in its own terms; each dialect renders these in its own error shape
(Efí ``{nome, mensagem}``, Belvo ``[{code, message, request_id, field}]``). No OFB error body reaches a merchant."""


class MerchantError(Exception):
    """``kind`` names the problem for the dialects' tables; ``field`` the offending input, when there is one."""

    kind = "invalid"
    status_code = 400

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRequest(MerchantError):
    kind = "invalid"
    status_code = 400


class InvalidSchedule(MerchantError):
    """Outside the regulator's bounds (payments v4 §1.8): D+1 onwards, at most 60 payments, at most two years."""

    kind = "schedule"
    status_code = 422


class Unauthenticated(MerchantError):
    kind = "unauthenticated"
    status_code = 401


class NotFound(MerchantError):
    kind = "not_found"
    status_code = 404


class IdempotencyConflict(MerchantError):
    kind = "idempotency"
    status_code = 409


class NotCancellable(MerchantError):
    kind = "not_cancellable"
    status_code = 422


class PaymentRefused(MerchantError):
    """The payer's bank refused the consent or the payments (the reason is translated, never forwarded)."""

    kind = "refused"
    status_code = 422


class BankUnavailable(MerchantError):
    kind = "unavailable"
    status_code = 502


class Forbidden(MerchantError):
    """A valid token without the scope the endpoint requires (Efí: each endpoint names its scope)."""

    kind = "forbidden"
    status_code = 403


class NotReplaceable(MerchantError):
    """Only a cancelled or rejected parcel of an authorised plan can be replaced (Efí ``/substituir``)."""

    kind = "not_replaceable"
    status_code = 422


class NotModifiable(MerchantError):
    """Only an intent not yet sent to the payer's bank can be completed (Belvo ``PATCH …/{id}/``)."""

    kind = "not_modifiable"
    status_code = 422


class NotRefundable(MerchantError):
    """Only a settled parcel (ACSC) can be refunded, and only while a refund connector is configured."""

    kind = "not_refundable"
    status_code = 422


class RefundExceeded(MerchantError):
    """The refunds of a parcel add up to at most its settled amount (those refused by the bank do not count)."""

    kind = "refund_exceeded"
    status_code = 422
