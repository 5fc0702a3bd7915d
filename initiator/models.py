"""The initiator gateway's records: the holders it knows (participants) and its registration at each, the
company's applications, and the consents and payments it drives at holders on their behalf, with the trace of
every holder call. Holder-side records (consents/, payments/) are never used here: a holder is reached over HTTP.
"""

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from initiator.statuses import (  # noqa: F401  (re-exported: the statuses are read as initiator.models.X)
    CHARGE_FINAL,
    CONSENT_FINAL,
    ENROLLMENT_FINAL,
    PAYMENT_FINAL,
    ChargeStatus,
    ConsentProduct,
    ConsentStatus,
    EnrollmentStatus,
    NotificationState,
    PaymentStatus,
)
from opusof.models import AuditedStatus, StatusChange


class Participant(models.Model):
    """One authorisation server of a holder as the OFB Directory's participants list describes it."""

    authorisation_server_id = models.CharField(max_length=40, unique=True)
    organisation_id = models.CharField(max_length=40, db_index=True)
    organisation_name = models.CharField(max_length=256, blank=True)
    registration_number = models.CharField(max_length=256, blank=True)
    friendly_name = models.CharField(max_length=255)
    logo_uri = models.CharField(max_length=2000, blank=True)
    description = models.CharField(max_length=255, blank=True)
    discovery_url = models.CharField(max_length=2000)
    roles = models.JSONField(default=list, blank=True)
    api_resources = models.JSONField(default=list, blank=True)
    flags = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["friendly_name"]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.authorisation_server_id})"


class HolderRegistration(models.Model):
    """Our client at one holder's authorisation server (DCR, RFC 7591), kept for DCM (RFC 7592)."""

    participant = models.OneToOneField(Participant, on_delete=models.CASCADE, related_name="registration")
    client_id = models.CharField(max_length=255)
    registration_client_uri = models.CharField(max_length=2000, blank=True)
    registration_access_token = models.TextField(blank=True, help_text="Encrypted (initiator.crypto).")
    redirect_uris = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    dcm_version = models.CharField(max_length=20, default="1")
    dcm_status = models.CharField(max_length=20, default="success")
    registered_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.client_id} at {self.participant.friendly_name}"


class Application(models.Model):
    """One of the company's own apps: what it may call the gateway as, and where results and webhooks go."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    fqdn = models.CharField(max_length=255)
    redirect_identifier = models.SlugField(max_length=64, unique=True)
    callback_uris = models.JSONField(default=list, blank=True)
    webhook_url = models.CharField(max_length=2000, blank=True)
    external_client_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    credential_hash = models.CharField(max_length=64, help_text="SHA-256 of the application's bearer credential.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.redirect_identifier})"


_CONSENT_OPEN = [ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.PARTIALLY_ACCEPTED, ConsentStatus.AUTHORISED]
_PAYMENT_OPEN = [s for s in PaymentStatus.values if s not in PAYMENT_FINAL]


class HolderMirror(AuditedStatus, FSMModelMixin, models.Model):
    """A record that mirrors a resource at a holder: polled with backoff until final (next_poll_at, poll_attempts),
    its status moved only by what the holder reports."""

    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    status_updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def client_id(self) -> None:
        # record_transition announces changes to a holder-side TPP client; an initiator record has none (its
        # application is notified through ApplicationNotification, written in the same transaction).
        return None


class InitiatorConsent(HolderMirror):
    """A payment consent created at a holder for an application; its status mirrors what the holder reports."""

    event_kind: ClassVar[str] = "INITIATOR_CONSENT"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="consents")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="consents")
    consent_id = models.CharField(max_length=256, db_index=True, help_text="The holder's consent URN.")
    product = models.CharField(max_length=20, choices=ConsentProduct.choices, default=ConsentProduct.PAYMENTS)
    status = FSMField(
        max_length=30, choices=ConsentStatus.choices, default=ConsentStatus.AWAITING_AUTHORISATION, protected=True
    )
    regulatory_version = models.CharField(max_length=20)
    request_body = models.JSONField()
    holder_data = models.JSONField(default=dict, help_text="The holder's last answer (data), verified.")
    holder_read_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="expirationDateTime: authorisation window.")
    callback_uri = models.CharField(max_length=2000, blank=True)
    # The authorisation attempt in flight (PAR): state and nonce tie the holder's answer to it; the PKCE verifier
    # and the tokens are secrets, kept encrypted.
    state = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64)
    code_verifier = models.TextField()
    response_mode = models.CharField(max_length=10, default="jwt")
    authorisation_url = models.CharField(max_length=4000, blank=True)
    authorisation_result = models.CharField(max_length=40, blank=True)
    access_token = models.TextField(blank=True)
    refresh_token = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    # Set when the consent was authorised without redirect (enrollments v2 /authorise): its payments then use the
    # enrollment's token (payments v4 security NonRedirectAuthorizationCode), not a token of the consent's own.
    enrollment = models.ForeignKey(
        "InitiatorEnrollment", null=True, blank=True, on_delete=models.PROTECT, related_name="consents"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "consent_id"], name="initiator_consent_once_per_holder")
        ]

    def __str__(self) -> str:
        return f"{self.consent_id} ({self.status})"

    @property
    def resource_id(self) -> str:
        return self.consent_id

    @transition(field="status", source=_CONSENT_OPEN, target=RETURN_VALUE(*ConsentStatus.values))
    def holder_reported(self, *, status: str) -> str:
        return status


class InitiatorConsentStatusChange(StatusChange):
    consent = models.ForeignKey(InitiatorConsent, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "consent status change"


class InitiatorPayment(HolderMirror):
    """A pix payment an application asked the gateway to initiate; recorded with the application's idempotency key
    before the holder is called (the key the holder deduplicates on)."""

    event_kind: ClassVar[str] = "INITIATOR_PAYMENT"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="payments")
    consent = models.ForeignKey(InitiatorConsent, on_delete=models.PROTECT, related_name="payments")
    payment_id = models.CharField(max_length=100, null=True, blank=True, db_index=True)
    # The application's key (at most 40, payments v4), or ``<key>#<n>`` for the n-th payment of a scheduled series.
    idempotency_key = models.CharField(max_length=48)
    request_hash = models.CharField(max_length=64)
    request_body = models.JSONField()
    status = FSMField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.SUBMITTING, protected=True)
    holder_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    holder_body = models.JSONField(default=dict, help_text="The holder's last answer, verified.")
    create_answer = models.JSONField(
        default=dict, help_text="The holder's answer to the creation: what a retry with the same key gets back."
    )
    last_error = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "idempotency_key"], name="initiator_payment_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.payment_id or self.idempotency_key} ({self.status})"

    @property
    def resource_id(self) -> str:
        return self.payment_id or str(self.id)

    @transition(field="status", source=_PAYMENT_OPEN, target=RETURN_VALUE(*PaymentStatus.values))
    def holder_reported(self, *, status: str) -> str:
        return status


class InitiatorPaymentStatusChange(StatusChange):
    payment = models.ForeignKey(InitiatorPayment, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "payment status change"


_ENROLLMENT_OPEN = [s for s in EnrollmentStatus.values if s not in ENROLLMENT_FINAL]


class InitiatorEnrollment(HolderMirror):
    """An account enrollment (device binding, enrollments v2) created at a holder for an application. The
    application's device holds the FIDO2 private key: only options, public attestation and assertions pass through
    here. The hybrid-flow tokens of the enrollment's journey (the non-redirect token) are kept encrypted."""

    event_kind: ClassVar[str] = "INITIATOR_ENROLLMENT"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="enrollments")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="enrollments")
    enrollment_id = models.CharField(max_length=256, db_index=True, help_text="The holder's enrollment URN.")
    status = FSMField(
        max_length=40, choices=EnrollmentStatus.choices, default=EnrollmentStatus.AWAITING_RISK_SIGNALS, protected=True
    )
    regulatory_version = models.CharField(max_length=20)
    request_body = models.JSONField()
    holder_data = models.JSONField(default=dict, help_text="The holder's last answer (data), verified.")
    holder_read_at = models.DateTimeField(default=timezone.now)
    logged_user_document = models.CharField(max_length=14, db_index=True, blank=True)
    business_entity_document = models.CharField(max_length=14, blank=True)
    permissions = models.JSONField(default=list, blank=True)
    cancellation_reason = models.CharField(max_length=60, blank=True)
    callback_uri = models.CharField(max_length=2000, blank=True)
    # The journey at the holder (risk signals accepted → PAR): as InitiatorConsent's attempt fields.
    state = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64)
    code_verifier = models.TextField()
    response_mode = models.CharField(max_length=10, default="jwt")
    authorisation_url = models.CharField(max_length=4000, blank=True)
    authorisation_result = models.CharField(max_length=40, blank=True)
    access_token = models.TextField(blank=True)
    refresh_token = models.TextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "enrollment_id"], name="initiator_enrollment_once_per_holder"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment_id} ({self.status})"

    @property
    def resource_id(self) -> str:
        return self.enrollment_id

    @transition(field="status", source=_ENROLLMENT_OPEN, target=RETURN_VALUE(*EnrollmentStatus.values))
    def holder_reported(self, *, status: str) -> str:
        return status


class InitiatorEnrollmentStatusChange(StatusChange):
    enrollment = models.ForeignKey(InitiatorEnrollment, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "enrollment status change"


class HolderCall(models.Model):
    """One HTTP call to a holder: what was called, with which ids, what came back and how long it took."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="calls")
    consent = models.ForeignKey(InitiatorConsent, null=True, blank=True, on_delete=models.CASCADE, related_name="calls")
    payment = models.ForeignKey(InitiatorPayment, null=True, blank=True, on_delete=models.CASCADE, related_name="calls")
    enrollment = models.ForeignKey(
        "InitiatorEnrollment", null=True, blank=True, on_delete=models.CASCADE, related_name="calls"
    )
    operation = models.CharField(max_length=40)
    method = models.CharField(max_length=8)
    url = models.CharField(max_length=2000)
    interaction_id = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status_code or self.error[:40]}"


class ApplicationNotification(models.Model):
    """Outbox row of one status change to forward to an application's webhook URL, written in the transaction of
    the change (delivery follows opusof.outbox's retry policy)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20)
    resource_id = models.CharField(max_length=256, db_index=True)
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id} → {self.to_status} ({self.state})"

    def body(self) -> dict[str, Any]:
        """Opus en-opusTPP-webhooks.yml ``webhookRequest`` (timestamp, eventType) and what changed, so the
        application need not read the resource back."""
        return {
            "data": {
                "eventType": "STATE_CHANGED",
                "type": self.kind,
                "id": self.resource_id,
                "status": self.to_status,
                "previousStatus": self.from_status,
                "timestamp": self.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        }


_CHARGE_OPEN = [s for s in ChargeStatus.values if s not in CHARGE_FINAL]


class ScheduledCharge(AuditedStatus, FSMModelMixin, models.Model):
    """One charge an application registered on a recurring consent; beat sends it inside the window the regulator
    allows before its due date (initiator.services.charges)."""

    event_kind: ClassVar[str] = "INITIATOR_CHARGE"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="charges")
    consent = models.ForeignKey(InitiatorConsent, on_delete=models.PROTECT, related_name="charges")
    reference = models.CharField(max_length=100, blank=True, help_text="paymentReference (Pix Automático).")
    amount = models.DecimalField(max_digits=19, decimal_places=2)
    due_date = models.DateField(db_index=True)
    template = models.JSONField(help_text="The recurring payment body without date, amount and ids.")
    status = FSMField(max_length=20, choices=ChargeStatus.choices, default=ChargeStatus.SCHEDULED, protected=True)
    send_from = models.DateField(db_index=True, help_text="First business date the charge may be sent.")
    attempts = models.PositiveSmallIntegerField(default=0)
    payment = models.ForeignKey(
        InitiatorPayment, null=True, blank=True, on_delete=models.PROTECT, related_name="charge_attempts"
    )
    original_payment_id = models.CharField(max_length=100, blank=True)
    last_error = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status_updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_date", "created_at"]
        constraints = [
            # An application that repeats its registration (a lost answer) must not make a second charge of the
            # same period: one live charge per consent, date and reference.
            models.UniqueConstraint(
                fields=["consent", "due_date", "reference"],
                condition=~models.Q(status="CANCELLED"),
                name="initiator_charge_once_per_date_and_reference",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference or self.due_date} {self.amount} ({self.status})"

    @property
    def resource_id(self) -> str:
        return str(self.id)

    @property
    def client_id(self) -> None:
        return None  # see HolderMirror.client_id

    @transition(field="status", source=_CHARGE_OPEN, target=RETURN_VALUE(*ChargeStatus.values))
    def moved(self, *, status: str) -> str:
        return status


class ScheduledChargeStatusChange(StatusChange):
    charge = models.ForeignKey(ScheduledCharge, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "charge status change"
