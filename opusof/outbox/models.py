"""Outbox events (one per status change and registered webhook URI) and the record of every delivery attempt.

The event row is inserted in the same transaction as the status change it announces
(``opusof.transitions.transition``), so a crash between the commit and the enqueue loses nothing: the dispatcher
finds it later.
"""

import uuid

from django.db import models
from django.utils import timezone

from opusof.models import TppClient


class EventKind(models.TextChoices):
    PAYMENT_CONSENT = "PAYMENT_CONSENT", "payments v4 consent"
    PIX_PAYMENT = "PIX_PAYMENT", "payments v4 pix payment"
    RECURRING_CONSENT = "RECURRING_CONSENT", "automatic payments v2 recurring consent"
    RECURRING_PAYMENT = "RECURRING_PAYMENT", "automatic payments v2 pix recurring payment"
    ENROLLMENT = "ENROLLMENT", "enrollments v2 enrollment"


class EventState(models.TextChoices):
    PENDING = "PENDING", "pending"
    DELIVERED = "DELIVERED", "delivered"
    FAILED = "FAILED", "failed"


class AttemptOutcome(models.TextChoices):
    DELIVERED = "DELIVERED", "delivered (2xx)"
    RETRY = "RETRY", "retryable failure (network, 5xx, 429)"
    FAILED = "FAILED", "final failure (4xx, attempts exhausted, URI no longer registered)"


class OutboxEvent(models.Model):
    # The stable id of the event: the same on every attempt and replay, so the TPP can drop duplicates.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="outbox_events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    resource_id = models.CharField(max_length=256, db_index=True)
    from_status = models.CharField(max_length=40, blank=True)
    to_status = models.CharField(max_length=40)
    # The registered webhook URI the event goes to, and the full notification URL built from it (webhook 1.2.0).
    webhook_uri = models.CharField(max_length=1024)
    url = models.CharField(max_length=2048)
    occurred_at = models.DateTimeField(help_text="data.timestamp of the notification: when the status changed")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    state = models.CharField(max_length=10, choices=EventState.choices, default=EventState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A lease, not a lock: the HTTP call runs outside any transaction; an expired lease means its holder died.
    claimed_by = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1024, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_event_due"),
            models.Index(fields=["client", "created_at"], name="outbox_event_client"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.resource_id} → {self.to_status} ({self.state})"


class WebhookDelivery(models.Model):
    """One HTTP attempt of one event: what was called, what came back, how long it took."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    url = models.CharField(max_length=2048)
    # x-webhook-interaction-id: new for every attempt, as webhook 1.2.0 requires.
    interaction_id = models.UUIDField(unique=True)
    trigger = models.CharField(max_length=20, default="dispatch")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1024, blank=True)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "attempt"], name="outbox_delivery_attempt_once")]

    def __str__(self) -> str:
        return f"#{self.attempt} {self.url} → {self.status_code or self.error[:40]}"
