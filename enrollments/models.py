"""Enrollments v2 (payments without redirect, JSR): a customer's device linked to one account of the bank, with the
FIDO2 credential that later authorises payment consents without a redirect (enrollments-2.1.0.yml)."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from connectors.interfaces import AccountRef
from opusof.accounts import DebtorAccount
from opusof.models import AuditedStatus, StatusChange, TppClient
from opusof.outbox.models import EventKind


def new_enrollment_id() -> str:
    return f"urn:opusof:{uuid.uuid4()}"


class EnrollmentStatus(models.TextChoices):
    """EnumEnrollmentStatus."""

    AWAITING_RISK_SIGNALS = "AWAITING_RISK_SIGNALS"
    AWAITING_ACCOUNT_HOLDER_VALIDATION = "AWAITING_ACCOUNT_HOLDER_VALIDATION"
    AWAITING_ENROLLMENT = "AWAITING_ENROLLMENT"
    AUTHORISED = "AUTHORISED"
    REVOKED = "REVOKED"
    REJECTED = "REJECTED"


class EnrollmentRejectionReason(models.TextChoices):
    """EnrollmentRejectionReason (cancellation of a not yet AUTHORISED enrollment)."""

    REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS = "REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS"
    REJEITADO_TEMPO_EXPIRADO_ACCOUNT_HOLDER_VALIDATION = "REJEITADO_TEMPO_EXPIRADO_ACCOUNT_HOLDER_VALIDATION"
    REJEITADO_TEMPO_EXPIRADO_ENROLLMENT = "REJEITADO_TEMPO_EXPIRADO_ENROLLMENT"
    REJEITADO_MAXIMO_CHALLENGES_ATINGIDO = "REJEITADO_MAXIMO_CHALLENGES_ATINGIDO"
    REJEITADO_MANUALMENTE = "REJEITADO_MANUALMENTE"
    REJEITADO_DISPOSITIVO_INCOMPATIVEL = "REJEITADO_DISPOSITIVO_INCOMPATIVEL"
    REJEITADO_FALHA_INFRAESTRUTURA = "REJEITADO_FALHA_INFRAESTRUTURA"
    REJEITADO_FALHA_HYBRID_FLOW = "REJEITADO_FALHA_HYBRID_FLOW"
    REJEITADO_FALHA_FIDO = "REJEITADO_FALHA_FIDO"
    REJEITADO_SEGURANCA_INTERNA = "REJEITADO_SEGURANCA_INTERNA"
    REJEITADO_OUTRO = "REJEITADO_OUTRO"


class EnrollmentRevocationReason(models.TextChoices):
    """EnrollmentRevocationReason (cancellation of an AUTHORISED enrollment)."""

    REVOGADO_MANUALMENTE = "REVOGADO_MANUALMENTE"
    REVOGADO_VALIDADE_EXPIRADA = "REVOGADO_VALIDADE_EXPIRADA"
    REVOGADO_FALHA_INFRAESTRUTURA = "REVOGADO_FALHA_INFRAESTRUTURA"
    REVOGADO_SEGURANCA_INTERNA = "REVOGADO_SEGURANCA_INTERNA"
    REVOGADO_OUTRO = "REVOGADO_OUTRO"


class CancelledFrom(models.TextChoices):
    """EnumEnrollmentCancelledFrom."""

    INICIADORA = "INICIADORA"
    DETENTORA = "DETENTORA"


class EnrollmentPermission(models.TextChoices):
    PAYMENTS_INITIATE = "PAYMENTS_INITIATE"


class FidoPlatform(models.TextChoices):
    ANDROID = "ANDROID"
    BROWSER = "BROWSER"
    CROSS_PLATFORM = "CROSS_PLATFORM"
    IOS = "IOS"


WAITING_STATUSES = (
    EnrollmentStatus.AWAITING_RISK_SIGNALS,
    EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION,
    EnrollmentStatus.AWAITING_ENROLLMENT,
)
FINAL_STATUSES = (EnrollmentStatus.REVOKED, EnrollmentStatus.REJECTED)

# Each waiting state's timeout (a setting, see OPUSOF_ENROLLMENT_*_TIMEOUT_MINUTES in opusof/settings/base.py for the
# yml lines and the source of the numbers) and the rejection reason its expiry carries.
_WAITING_TIMEOUTS: dict[str, tuple[str, str]] = {
    EnrollmentStatus.AWAITING_RISK_SIGNALS: (
        "OPUSOF_ENROLLMENT_RISK_SIGNALS_TIMEOUT_MINUTES",
        EnrollmentRejectionReason.REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS,
    ),
    EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION: (
        "OPUSOF_ENROLLMENT_ACCOUNT_HOLDER_VALIDATION_TIMEOUT_MINUTES",
        EnrollmentRejectionReason.REJEITADO_TEMPO_EXPIRADO_ACCOUNT_HOLDER_VALIDATION,
    ),
    EnrollmentStatus.AWAITING_ENROLLMENT: (
        "OPUSOF_ENROLLMENT_FIDO_REGISTRATION_TIMEOUT_MINUTES",
        EnrollmentRejectionReason.REJEITADO_TEMPO_EXPIRADO_ENROLLMENT,
    ),
}


def waiting_timeout(status: str) -> tuple[dt.timedelta, str] | None:
    """``(timeout, rejection reason)`` of a waiting state, read from settings at call time; None for the others."""
    entry = _WAITING_TIMEOUTS.get(status)
    if entry is None:
        return None
    setting, reason = entry
    return dt.timedelta(minutes=getattr(settings, setting)), reason


class Enrollment(AuditedStatus, DebtorAccount, FSMModelMixin, models.Model):
    event_kind = EventKind.ENROLLMENT

    """One enrollment (vínculo de conta). ``request_data`` keeps the TPP's ``data`` claim of POST /enrollments."""

    enrollment_id = models.CharField(max_length=256, unique=True, default=new_enrollment_id, editable=False)
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="enrollments")
    status = FSMField(
        max_length=40, choices=EnrollmentStatus.choices, default=EnrollmentStatus.AWAITING_RISK_SIGNALS, protected=True
    )
    created_at = models.DateTimeField()
    status_updated_at = models.DateTimeField()
    # Deadline of the current waiting state (waiting_timeout); null once AUTHORISED or final.
    deadline_at = models.DateTimeField(null=True, blank=True, db_index=True)

    logged_user_document = models.CharField(max_length=11, db_index=True)
    business_entity_document = models.CharField(max_length=14, blank=True)
    permissions = models.JSONField(default=list)
    enrollment_name = models.CharField(max_length=140, blank=True)
    # Set by the bank when the customer approves (transactionLimit is required from AWAITING_ENROLLMENT on).
    transaction_limit = models.DecimalField(max_digits=19, decimal_places=2, null=True, blank=True)
    daily_limit = models.DecimalField(max_digits=19, decimal_places=2, null=True, blank=True)
    customer_name = models.CharField(max_length=140, blank=True)

    risk_signals = models.JSONField(null=True, blank=True)
    # FIDO2: the opaque user handle (PublicKeyCredentialUserEntity.id) and the RP the credential is scoped to.
    user_handle = models.CharField(max_length=100, default="", blank=True)
    rp_id = models.CharField(max_length=255, blank=True)
    platform = models.CharField(max_length=16, choices=FidoPlatform.choices, blank=True)

    cancellation_reason = models.CharField(max_length=60, blank=True)
    cancelled_from = models.CharField(max_length=10, choices=CancelledFrom.choices, blank=True)
    cancelled_by_document = models.CharField(max_length=11, blank=True)
    cancelled_by_rel = models.CharField(max_length=3, blank=True)
    additional_information = models.CharField(max_length=2048, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    request_data = models.JSONField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "deadline_at"])]

    def __str__(self) -> str:
        return self.enrollment_id

    @property
    def resource_id(self) -> str:
        return self.enrollment_id

    # Transitions are pure: the service stamps times and deadlines, records history and enqueues work.
    @transition(
        field=status,
        source=EnrollmentStatus.AWAITING_RISK_SIGNALS,
        target=EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION,
    )
    def receive_risk_signals(self, *, signals: dict[str, object]) -> None:
        self.risk_signals = signals

    @transition(
        field=status,
        source=EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION,
        target=EnrollmentStatus.AWAITING_ENROLLMENT,
    )
    def validate_account_holder(
        self, *, account: AccountRef, transaction_limit: Decimal, daily_limit: Decimal | None
    ) -> None:
        self.set_debtor_account(account)
        self.transaction_limit = transaction_limit
        self.daily_limit = daily_limit

    @transition(field=status, source=EnrollmentStatus.AWAITING_ENROLLMENT, target=EnrollmentStatus.AUTHORISED)
    def enroll(self) -> None:
        pass

    @transition(field=status, source=list(WAITING_STATUSES), target=EnrollmentStatus.REJECTED)
    def reject(self, *, reason: str, cancelled_from: str, document: str = "", rel: str = "", info: str = "") -> None:
        self._cancel(reason, cancelled_from, document, rel, info)

    @transition(field=status, source=EnrollmentStatus.AUTHORISED, target=EnrollmentStatus.REVOKED)
    def revoke(self, *, reason: str, cancelled_from: str, document: str = "", rel: str = "", info: str = "") -> None:
        self._cancel(reason, cancelled_from, document, rel, info)

    def _cancel(self, reason: str, cancelled_from: str, document: str, rel: str, info: str) -> None:
        self.cancellation_reason = reason
        self.cancelled_from = cancelled_from
        self.cancelled_by_document = document
        self.cancelled_by_rel = rel
        self.additional_information = info


class EnrollmentStatusChange(StatusChange):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        pass


class FidoCredential(models.Model):
    """The public key credential registered for an enrollment (one per enrollment)."""

    enrollment = models.OneToOneField(Enrollment, on_delete=models.CASCADE, related_name="credential")
    credential_id = models.CharField(max_length=1024, unique=True, help_text="base64url of rawId")
    public_key = models.BinaryField(help_text="COSE_Key of the credential")
    sign_count = models.PositiveBigIntegerField(default=0)
    aaguid = models.CharField(max_length=36, blank=True)
    attestation_format = models.CharField(max_length=32, blank=True)
    origin = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.credential_id[:16]}… ({self.enrollment_id})"


class FidoChallenge(models.Model):
    """A server challenge: single use and expiring (a new one on every options call, enrollments-2.1.0 paths
    fido-registration-options and fido-sign-options)."""

    class Purpose(models.TextChoices):
        REGISTRATION = "REGISTRATION"
        AUTHENTICATION = "AUTHENTICATION"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="challenges")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    challenge = models.CharField(max_length=128, unique=True, help_text="base64url without padding")
    rp_id = models.CharField(max_length=255)
    consent_id = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.challenge[:12]}…"


class EnrollmentConsentAuthorisation(models.Model):
    """A payment consent authorised through an enrollment (FIDO assertion): the audit trail and the base of the
    enrollment's daily limit."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.PROTECT, related_name="authorisations")
    consent_id = models.CharField(max_length=256, unique=True)
    amount = models.DecimalField(max_digits=19, decimal_places=2)
    business_date = models.DateField(db_index=True)
    risk_signals = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.consent_id} via {self.enrollment_id}"
