"""What the admin's entry page shows staff: today's (Brasília) counts per status, and the payments that need a
person (flagged by status polling, or still open an hour after they were made)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Model, Q
from django.urls import reverse

from opusof import clock
from opusof.customer_labels import CONSENT_STATUS, PAYMENT_STATUS
from opusof.timeutil import business_date, business_tz
from payments.models import PaymentPollState, PaymentStatus, PixPayment

OPEN_STATUSES = (PaymentStatus.RCVD, PaymentStatus.PDNG, PaymentStatus.ACCP, PaymentStatus.ACPD)
OPEN_TOO_LONG = dt.timedelta(hours=1)
ATTENTION_LIMIT = 20


@dataclass(frozen=True)
class StatusCount:
    code: str
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class Attention:
    payment: PixPayment
    why: str
    url: str


def start_of_today() -> dt.datetime:
    return dt.datetime.combine(business_date(), dt.time.min, tzinfo=business_tz())


def _changelist(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def counts_today(model: type[Any], labels: dict[str, str]) -> list[StatusCount]:
    """Rows of ``model`` created today, per status, every status listed (zero included)."""
    since = start_of_today()
    found = dict(
        model.objects.filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    url = _changelist(model)
    return [
        StatusCount(
            code,
            f"{label} ({code})",
            found.get(code, 0),
            f"{url}?" + urlencode({"status": code, "created_at__gte": since.isoformat(sep=" ")}),
        )
        for code, label in labels.items()
    ]


def payments_needing_attention() -> list[Attention]:
    flagged = PaymentPollState.objects.filter(needs_attention=True, payment__isnull=False).values("payment_id")
    rows = (
        PixPayment.objects.select_related("poll_state")
        .filter(Q(pk__in=flagged) | Q(status__in=OPEN_STATUSES, created_at__lt=clock.now() - OPEN_TOO_LONG))
        .order_by("created_at")[:ATTENTION_LIMIT]
    )
    items = []
    for payment in rows:
        poll = getattr(payment, "poll_state", None)
        if poll is not None and poll.needs_attention:
            why = f"o banco não confirmou após {poll.attempts} consultas"
        else:
            why = "em aberto há mais de 1 hora"
        url = reverse("admin:payments_pixpayment_change", args=[payment.pk])
        items.append(Attention(payment, why, url))
    return items


def dashboard() -> dict[str, Any]:
    from consents.models import PaymentConsent

    return {
        "day": business_date(),
        "payments_today": counts_today(PixPayment, PAYMENT_STATUS),
        "consents_today": counts_today(PaymentConsent, CONSENT_STATUS),
        "attention": payments_needing_attention(),
    }
