"""Reads of the merchant domain, always scoped by the merchant asking."""

import datetime as dt
import uuid

from django.db.models import Prefetch, QuerySet

from merchant.errors import NotFound
from merchant.models import Merchant, Parcel, Plan
from opusof.timeutil import business_tz

URN_PREFIX = "urn:opusof:"


def plans_created_between(*, merchant: Merchant, first: dt.date, last: dt.date, dialect: str) -> QuerySet[Plan]:
    """Plans created from ``first`` to ``last`` inclusive, Brasília calendar dates."""
    tz = business_tz()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return (
        Plan.objects.filter(merchant=merchant, dialect=dialect, created_at__gte=start, created_at__lt=end)
        .prefetch_related(Prefetch("parcels", queryset=Parcel.objects.order_by("sequence").prefetch_related("refunds")))
        .order_by("created_at", "id")
    )


def plan_get(*, merchant: Merchant, identifier: str, dialect: str) -> Plan:
    """A plan by its URN (or bare id) created through ``dialect``; another merchant's plan is simply not found."""
    try:
        plan_id = uuid.UUID(identifier.removeprefix(URN_PREFIX))
    except ValueError:
        raise NotFound("Pagamento recorrente não encontrado.") from None
    plan = (
        Plan.objects.select_related("merchant__application")
        .filter(merchant=merchant, pk=plan_id, dialect=dialect)
        .first()
    )
    if plan is None:
        raise NotFound("Pagamento recorrente não encontrado.")
    return plan


def parcel_by_end_to_end_id(*, merchant: Merchant, end_to_end_id: str, dialect: str) -> Parcel:
    parcel = (
        Parcel.objects.select_related("plan__merchant__application")
        .filter(plan__merchant=merchant, plan__dialect=dialect, end_to_end_id=end_to_end_id)
        .first()
    )
    if parcel is None:
        raise NotFound("Pagamento não encontrado.")
    return parcel
