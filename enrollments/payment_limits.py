"""A payment made with an enrollment's token (payments-4.0.0.yml security NonRedirectAuthorizationCode): the
enrollment locked for it, and its transaction and daily limits."""

import datetime as dt
from decimal import Decimal

from django.db.models import Q, Sum

from enrollments.errors import (
    ConsentNotAuthorisedByEnrollment,
    EnrollmentTokenInvalid,
)
from enrollments.models import (
    Enrollment,
    EnrollmentConsentAuthorisation,
    EnrollmentStatus,
)
from opusof.models import TppClient
from opusof.timeutil import business_tz
from payments.models import PaymentStatus, PixPayment


def enrollment_lock_for_payment(*, client: TppClient, enrollment_id: str, consent_id: str) -> Enrollment:
    """Row-locks the enrollment a non-redirect token names (scope ``enrollment:{enrollmentId}``) for a payment of
    ``consent_id``; the lock serialises the enrollment's daily limit. 401 unless the enrollment is the client's and
    AUTHORISED; 403 unless ``consent_id`` was authorised through this very enrollment (authorizeConsent)."""
    enrollment = Enrollment.objects.select_for_update().filter(enrollment_id=enrollment_id, client=client).first()
    if enrollment is None or enrollment.status != EnrollmentStatus.AUTHORISED:
        raise EnrollmentTokenInvalid("O vínculo de conta do token não está AUTHORISED.")
    if not EnrollmentConsentAuthorisation.objects.filter(enrollment=enrollment, consent_id=consent_id).exists():
        raise ConsentNotAuthorisedByEnrollment(
            f"O consentimento {consent_id} não foi autorizado por meio do vínculo de conta do token."
        )
    return enrollment


def _paid_on(enrollment: Enrollment, day: dt.date) -> Decimal:
    """What the enrollment's payments settle (or settled) on ``day``: immediate ones created that business day and
    scheduled ones due that day, neither rejected nor cancelled."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=business_tz())
    consents = EnrollmentConsentAuthorisation.objects.filter(enrollment=enrollment).values("consent_id")
    total = (
        PixPayment.objects.filter(consent__consent_id__in=consents)
        .exclude(status__in=[PaymentStatus.RJCT, PaymentStatus.CANC])
        .filter(
            Q(scheduled_date=day)
            | Q(scheduled_date__isnull=True, created_at__gte=start, created_at__lt=start + dt.timedelta(days=1))
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0.00")


def enrollment_limit_problem(enrollment: Enrollment, *, amount: Decimal, day: dt.date) -> str | None:
    """The enrollment's limits (ResponseEnrollment transactionLimit / dailyLimit) against a payment settling on
    ``day``; checked at settlement only (authorizeConsent description, enrollments-2.1.0.yml line 520). Caller holds
    the enrollment's row lock (``enrollment_lock_for_payment``)."""
    if enrollment.transaction_limit is not None and amount > enrollment.transaction_limit:
        return f"Valor acima do limite por transação do vínculo de conta ({enrollment.transaction_limit})."
    if enrollment.daily_limit is not None and _paid_on(enrollment, day) + amount > enrollment.daily_limit:
        return f"Valor acima do limite diário do vínculo de conta ({enrollment.daily_limit})."
    return None
