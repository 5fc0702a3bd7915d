"""The merchant domain: a shop (merchant) with its credentials and settings, its recurring Pix plans and each
plan's parcels (one scheduled Pix per date), and the outbox of webhooks to the shop. The API dialects
(``merchant/efi``, ``merchant/belvo``) only render this domain in their own words."""

import uuid
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from opusof.models import AuditedStatus, StatusChange


class Merchant(models.Model):
    """A shop calling the merchant APIs; it reaches payers' banks as an application of the initiator gateway."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)
    client_id = models.CharField(max_length=64, unique=True)
    client_secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the client secret.")
    application = models.OneToOneField(
        "initiator.Application", on_delete=models.PROTECT, related_name="merchant", help_text="Its gateway app."
    )
    redirect_url = models.CharField(max_length=2000)
    webhook_url = models.CharField(max_length=2000, blank=True)
    webhook_security = models.CharField(max_length=10, default="hmac")
    webhook_secret = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MerchantToken(models.Model):
    """An OAuth2 client_credentials access token issued to a merchant (only its hash is kept), with the scopes it
    was granted (Efí: each endpoint requires one, e.g. ``gn.opb.payment.pix.send``)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(max_length=1000, blank=True, help_text="Granted scopes, space-separated.")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.merchant} até {self.expires_at:%Y-%m-%d %H:%M}"


class CustomerType(models.TextChoices):
    INDIVIDUAL = "INDIVIDUAL"
    BUSINESS = "BUSINESS"


class Customer(models.Model):
    """A payer the merchant registered (Belvo's customer resource); a plan may name one instead of giving the
    payer inline."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="customers")
    customer_type = models.CharField(max_length=10, choices=CustomerType.choices)
    identifier = models.CharField(max_length=14, help_text="CPF (11 digits) or CNPJ (14 digits).")
    name = models.CharField(max_length=140)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    address = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["merchant", "identifier"], name="merchant_customer_once")]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"


class BeneficiaryAccount(models.Model):
    """An account of the merchant's that receives the Pix (Belvo's beneficiary bank account resource)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="beneficiary_accounts")
    holder_name = models.CharField(max_length=140)
    holder_identifier = models.CharField(max_length=14)
    ispb = models.CharField(max_length=8)
    issuer = models.CharField(max_length=4)
    number = models.CharField(max_length=20)
    account_type = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "ispb", "issuer", "number", "account_type"], name="merchant_beneficiary_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.holder_name} {self.ispb}/{self.issuer}/{self.number}"


class PlanStatus(models.TextChoices):
    AWAITING_AUTHORISATION = "AWAITING_AUTHORISATION"
    ACTIVE = "ACTIVE"
    FINISHED = "FINISHED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class Recurrence(models.TextChoices):
    SINGLE = "single"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CUSTOM = "custom"


PLAN_OPEN = [PlanStatus.AWAITING_AUTHORISATION, PlanStatus.ACTIVE]


class Plan(AuditedStatus, FSMModelMixin, models.Model):
    """A merchant's recurring Pix: one payments v4 consent with a ``schedule`` at the payer's bank, one
    authorisation, then one scheduled Pix per date (its parcels)."""

    event_kind: ClassVar[str] = "MERCHANT_PLAN"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="plans")
    dialect = models.CharField(max_length=10, default="efi")
    idempotency_key = models.CharField(max_length=80)
    request_hash = models.CharField(max_length=64)
    own_id = models.CharField(max_length=64, blank=True, help_text="The merchant's own reference (idProprio).")
    authorisation_server_id = models.CharField(max_length=40)
    payer_cpf = models.CharField(max_length=11)
    payer_cnpj = models.CharField(max_length=14, blank=True)
    creditor = models.JSONField(help_text="Beneficiary name, document and account.")
    amount = models.DecimalField(max_digits=17, decimal_places=2)
    description = models.CharField(max_length=140, blank=True)
    ibge_town_code = models.CharField(max_length=7, blank=True)
    recurrence = models.CharField(max_length=10, choices=Recurrence.choices)
    schedule = models.JSONField(help_text="The payments v4 schedule block sent to the payer's bank.")
    callback_url = models.CharField(max_length=2000, help_text="Where the payer's browser returns from the bank.")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="plans")
    beneficiary_account = models.ForeignKey(
        BeneficiaryAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="plans"
    )
    confirmed = models.BooleanField(default=True, help_text="False: recorded, not yet sent to the payer's bank.")
    consent_id = models.CharField(max_length=256, blank=True, db_index=True)
    redirect_uri = models.CharField(max_length=4000, blank=True)
    status = FSMField(
        max_length=30, choices=PlanStatus.choices, default=PlanStatus.AWAITING_AUTHORISATION, protected=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    status_updated_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "dialect", "idempotency_key"], name="merchant_plan_key_once")
        ]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.status})"

    @property
    def identifier(self) -> str:
        return f"urn:opusof:{self.id}"

    @property
    def resource_id(self) -> str:
        return self.identifier

    @property
    def client_id(self) -> None:
        # Changes reach the merchant through MerchantWebhook (merchant/services/webhooks.py), not the holder's outbox.
        return None

    @transition(field="status", source=PLAN_OPEN, target=RETURN_VALUE(*PlanStatus.values))
    def move(self, *, status: str) -> str:
        return status

    @transition(field="status", source=PlanStatus.FINISHED, target=PlanStatus.ACTIVE)
    def reopen(self) -> None:
        """A finished plan gets a parcel again: a cancelled or rejected one replaced (Efí ``/substituir``)."""


class PlanStatusChange(StatusChange):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "plan status change"


class ParcelStatus(models.TextChoices):
    """Payments v4 EnumPaymentStatusType, plus CREATED: recorded here, not yet answered by the payer's bank."""

    CREATED = "CREATED"
    RCVD = "RCVD"
    PATC = "PATC"
    PDNG = "PDNG"
    SCHD = "SCHD"
    ACCP = "ACCP"
    ACPD = "ACPD"
    ACSC = "ACSC"
    RJCT = "RJCT"
    CANC = "CANC"


PARCEL_FINAL = {ParcelStatus.ACSC, ParcelStatus.RJCT, ParcelStatus.CANC}
PARCEL_OPEN = [s for s in ParcelStatus.values if s not in PARCEL_FINAL]


class Parcel(AuditedStatus, FSMModelMixin, models.Model):
    """One scheduled Pix of a plan, with the endToEndId fixed here before the payer's bank is asked."""

    event_kind: ClassVar[str] = "MERCHANT_PARCEL"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="parcels")
    sequence = models.PositiveSmallIntegerField()
    date = models.DateField()
    amount = models.DecimalField(max_digits=17, decimal_places=2)
    end_to_end_id = models.CharField(max_length=32, unique=True)
    payment_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = FSMField(max_length=10, choices=ParcelStatus.choices, default=ParcelStatus.CREATED, protected=True)
    rejection_reason = models.CharField(max_length=2048, blank=True)
    replaces = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="replacement")
    consent_id = models.CharField(
        max_length=256, blank=True, help_text="A replacement's own consent (single date); blank: the plan's."
    )
    redirect_uri = models.CharField(max_length=4000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status_updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [models.UniqueConstraint(fields=["plan", "sequence"], name="merchant_parcel_sequence_once")]

    def __str__(self) -> str:
        return f"{self.end_to_end_id} ({self.status})"

    @property
    def resource_id(self) -> str:
        return self.end_to_end_id

    @property
    def client_id(self) -> None:
        return None  # see Plan.client_id

    @transition(field="status", source=PARCEL_OPEN, target=RETURN_VALUE(*ParcelStatus.values))
    def move(self, *, status: str) -> str:
        return status


class ParcelStatusChange(StatusChange):
    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "parcel status change"


class RefundStatus(models.TextChoices):
    """The merchant domain's own refund statuses (a devolução is no OFB payment): CREATED is recorded here and not
    yet confirmed by the merchant's bank; the others are the bank's (connectors.refunds: EM_PROCESSAMENTO,
    DEVOLVIDO, NAO_REALIZADO)."""

    CREATED = "CREATED"
    PROCESSING = "PROCESSING"
    REFUNDED = "REFUNDED"
    REJECTED = "REJECTED"


REFUND_FINAL = {RefundStatus.REFUNDED, RefundStatus.REJECTED}
REFUND_OPEN = [RefundStatus.CREATED, RefundStatus.PROCESSING]


class Refund(AuditedStatus, FSMModelMixin, models.Model):
    """A Pix devolução of (part of) a settled parcel, sent by the merchant's own bank through the refund connector.
    Recorded with its ``refund_id`` (the bank's dedup key) before the bank is asked; one request of a dialect may
    hold several (``position`` orders them under its idempotency key)."""

    event_kind: ClassVar[str] = "MERCHANT_REFUND"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="refunds")
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, related_name="refunds")
    dialect = models.CharField(max_length=10, default="efi")
    idempotency_key = models.CharField(max_length=80)
    request_hash = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(default=0)
    refund_id = models.CharField(max_length=32, unique=True, help_text="Sent to the bank: its dedup key.")
    amount = models.DecimalField(max_digits=17, decimal_places=2)
    description = models.CharField(max_length=140, blank=True)
    status = FSMField(max_length=12, choices=RefundStatus.choices, default=RefundStatus.CREATED, protected=True)
    rejection_reason = models.CharField(max_length=2048, blank=True)
    return_id = models.CharField(max_length=32, blank=True, help_text="The devolução's id in the SPI (rtrId).")
    attempts = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status_updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "dialect", "idempotency_key", "position"], name="merchant_refund_key_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.refund_id} ({self.status})"

    @property
    def resource_id(self) -> str:
        return self.refund_id

    @property
    def client_id(self) -> None:
        return None  # see Plan.client_id

    @transition(field="status", source=REFUND_OPEN, target=RETURN_VALUE(*RefundStatus.values))
    def move(self, *, status: str) -> str:
        return status


class RefundStatusChange(StatusChange):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        verbose_name = "refund status change"


class WebhookState(models.TextChoices):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class MerchantWebhook(models.Model):
    """Outbox row of one status change for the merchant's webhook URL, written in the transaction of the change;
    its body is rendered in the plan's dialect when it is written (what the merchant receives, retried as is)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhooks")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="webhooks")
    body = models.JSONField()
    state = models.CharField(max_length=10, choices=WebhookState.choices, default=WebhookState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=1024, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.plan_id} ({self.state})"

    def payload(self) -> dict[str, Any]:
        return dict(self.body)
