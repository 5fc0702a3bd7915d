"""Keeping up with the holders: their webhook pings (webhook 1.2.0 — a timestamp only, so the resource is read
back) and the poll of every consent, payment and enrollment not yet final, with backoff (an AUTHORISED enrollment
is read at most every 10 minutes: the customer may revoke it at the holder)."""

import contextlib
import logging
import uuid

from django.db.models import Q
from django.utils import timezone

from initiator.errors import HolderUnreachable
from initiator.models import (
    CONSENT_FINAL,
    ENROLLMENT_FINAL,
    PAYMENT_FINAL,
    InitiatorConsent,
    InitiatorEnrollment,
    InitiatorPayment,
    PaymentStatus,
)
from initiator.services.consents import consent_refresh
from initiator.services.enrollments import enrollment_refresh
from initiator.services.payments import payment_read, payment_submit, pix_url
from initiator.services.tracking import next_poll

logger = logging.getLogger(__name__)


def webhook_received(*, kind: str, resource_id: str) -> int:
    """A holder says ``resource_id`` changed: read each matching record back. Unknown ids are logged and ignored
    (the holder must still get its 202). Returns how many records were read."""
    read = 0
    if kind == "enrollment":
        for enrollment in InitiatorEnrollment.objects.select_related("participant").filter(enrollment_id=resource_id):
            try:
                enrollment_refresh(enrollment=enrollment, actor="holder:webhook")
                read += 1
            except HolderUnreachable as exc:
                logger.warning(
                    "enrollment read after webhook failed", extra={"enrollment_id": resource_id, "error": str(exc)}
                )
                InitiatorEnrollment.objects.filter(pk=enrollment.pk).update(next_poll_at=timezone.now())
    elif kind == "consent":
        for consent in InitiatorConsent.objects.select_related("participant").filter(consent_id=resource_id):
            try:
                consent_refresh(consent=consent, actor="holder:webhook")
                read += 1
            except HolderUnreachable as exc:
                logger.warning(
                    "consent read after webhook failed", extra={"consent_id": resource_id, "error": str(exc)}
                )
                InitiatorConsent.objects.filter(pk=consent.pk).update(next_poll_at=timezone.now())
    else:
        for payment in InitiatorPayment.objects.select_related("consent__participant").filter(payment_id=resource_id):
            try:
                payment_read(payment=payment, actor="holder:webhook")
                read += 1
            except HolderUnreachable as exc:
                logger.warning(
                    "payment read after webhook failed", extra={"payment_id": resource_id, "error": str(exc)}
                )
                InitiatorPayment.objects.filter(pk=payment.pk).update(next_poll_at=timezone.now())
    if not read:
        logger.info("holder webhook for an unknown resource", extra={"kind": kind, "resource_id": resource_id})
    return read


def poll_open(*, limit: int = 100) -> int:
    """Reads every due consent and payment that is not final; a payment whose creation answer was lost is sent
    again with its own idempotency key (the holder answers the original). Returns how many were polled."""
    now = timezone.now()
    polled = 0
    due = Q(next_poll_at__lte=now) | Q(next_poll_at__isnull=True)
    for consent in (
        InitiatorConsent.objects.select_related("participant")
        .exclude(status__in=CONSENT_FINAL)
        .filter(due)
        .order_by("next_poll_at")[:limit]
    ):
        polled += 1
        with contextlib.suppress(HolderUnreachable):
            consent_refresh(consent=consent, actor="poll")
        _backoff(InitiatorConsent, consent.pk, consent.status)
    for enrollment in (
        InitiatorEnrollment.objects.select_related("participant")
        .exclude(status__in=ENROLLMENT_FINAL)
        .filter(due)
        .order_by("next_poll_at")[:limit]
    ):
        polled += 1
        with contextlib.suppress(HolderUnreachable):
            enrollment_refresh(enrollment=enrollment, actor="poll")
        _backoff(InitiatorEnrollment, enrollment.pk, enrollment.status)
    for payment in (
        InitiatorPayment.objects.select_related("consent__participant", "application")
        .exclude(status__in=PAYMENT_FINAL)
        .filter(due)
        .order_by("next_poll_at")[:limit]
    ):
        polled += 1
        try:
            if payment.status == PaymentStatus.SUBMITTING:
                url, version = pix_url(payment.consent)
                payment_submit(payment=payment, url=url, version=version)
            else:
                payment_read(payment=payment, actor="poll")
        except HolderUnreachable:
            pass
        _backoff(InitiatorPayment, payment.pk, payment.status)
    return polled


def _backoff(
    model: type[InitiatorConsent] | type[InitiatorPayment] | type[InitiatorEnrollment], pk: uuid.UUID, status: str
) -> None:
    """The next poll of a record that did not move (a move already set its own next poll and reset attempts)."""
    row = model.objects.filter(pk=pk).values("poll_attempts", "status").first()
    if row is None or row["status"] != status:
        return
    attempts = row["poll_attempts"] + 1
    model.objects.filter(pk=pk).update(poll_attempts=attempts, next_poll_at=next_poll(attempts, timezone.now()))
