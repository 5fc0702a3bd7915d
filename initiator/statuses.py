"""The statuses of the gateway's records: the holder's regulated enums it mirrors (payments v4, automatic payments
v2, enrollments v2), and its own for notifications and the charges it runs; each with the set that ends it."""

from django.db import models


class ConsentStatus(models.TextChoices):
    # payments v4 EnumAuthorisationStatusType
    AWAITING_AUTHORISATION = "AWAITING_AUTHORISATION"
    PARTIALLY_ACCEPTED = "PARTIALLY_ACCEPTED"
    AUTHORISED = "AUTHORISED"
    REJECTED = "REJECTED"
    CONSUMED = "CONSUMED"
    # automatic-payments v2 EnumAuthorisationStatusType adds REVOKED (a recurring consent ended by either side)
    REVOKED = "REVOKED"


CONSENT_FINAL = {ConsentStatus.REJECTED, ConsentStatus.CONSUMED, ConsentStatus.REVOKED}


class ConsentProduct(models.TextChoices):
    """Which regulated API the consent lives in at the holder (its endpoints, scopes and payment ids)."""

    PAYMENTS = "payments"  # payments-4.0.0.yml
    AUTOMATIC_PAYMENTS = "automatic-payments"  # automatic-payments-2.0.0.yml (Pix Automático, sweeping)


class PaymentStatus(models.TextChoices):
    # SUBMITTING is ours: recorded with its idempotency key, the holder's answer not yet known.
    SUBMITTING = "SUBMITTING"
    # payments v4 EnumPaymentStatusType
    RCVD = "RCVD"
    CANC = "CANC"
    ACCP = "ACCP"
    ACPD = "ACPD"
    RJCT = "RJCT"
    ACSC = "ACSC"
    PDNG = "PDNG"
    SCHD = "SCHD"


PAYMENT_FINAL = {PaymentStatus.ACSC, PaymentStatus.RJCT, PaymentStatus.CANC}


class EnrollmentStatus(models.TextChoices):
    # enrollments-2.1.0.yml EnumEnrollmentStatus (initiator_vinculoDeDispositivo.md "State machine")
    AWAITING_RISK_SIGNALS = "AWAITING_RISK_SIGNALS"
    AWAITING_ACCOUNT_HOLDER_VALIDATION = "AWAITING_ACCOUNT_HOLDER_VALIDATION"
    AWAITING_ENROLLMENT = "AWAITING_ENROLLMENT"
    AUTHORISED = "AUTHORISED"
    REVOKED = "REVOKED"
    REJECTED = "REJECTED"


ENROLLMENT_FINAL = {EnrollmentStatus.REVOKED, EnrollmentStatus.REJECTED}


class NotificationState(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class ChargeStatus(models.TextChoices):
    """A charge the initiator runs for an application against a recurring consent (ours, not the regulator's)."""

    SCHEDULED = "SCHEDULED"  # waiting for its sending window
    SENT = "SENT"  # recorded as a payment with its idempotency key and sent; the payment follows the holder
    RETRY_SCHEDULED = "RETRY_SCHEDULED"  # refused for a retryable reason: a new attempt naming the original is due
    PAID = "PAID"
    REJECTED = "REJECTED"  # refused for good (or retries exhausted); the reason is in last_error
    LIMIT_REACHED = "LIMIT_REACHED"  # the consent's limits leave no room: reported, the holder never called
    MISSED = "MISSED"  # its window closed before it could be sent
    CANCELLED = "CANCELLED"


CHARGE_FINAL = {
    ChargeStatus.PAID,
    ChargeStatus.REJECTED,
    ChargeStatus.LIMIT_REACHED,
    ChargeStatus.MISSED,
    ChargeStatus.CANCELLED,
}
