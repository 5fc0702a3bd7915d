"""A cancelled or rejected parcel replaced (Efí ``PATCH …/substituir/{endToEndId}``): a new parcel for the same
date, recorded here first with its own endToEndId, then a new payments v4 consent at the payer's bank for that
single date (the plan's consent covers only its original payments); once the payer authorises it, one payment
schedules the replacement, followed like any parcel."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from initiator.errors import InitiatorError
from initiator.services.consents import consent_create
from initiator.services.for_merchants import consent_rejection, consent_status, payment_statuses
from initiator.services.payments import payment_create, payment_for, payment_read
from merchant import schedules
from merchant.errors import BankUnavailable, NotFound, NotReplaceable, PaymentRefused
from merchant.models import PARCEL_OPEN, Parcel, ParcelStatus, Plan, PlanStatus
from merchant.refusals import refusal_message
from merchant.services.bodies import consent_body, end_to_end_id, error_codes, payment_items
from merchant.services.plans import CONSENT_REFUSED, parcel_move, plan_finish_if_done
from merchant.services.webhooks import webhook_record
from opusof.timeutil import business_date
from opusof.transitions import transition

REPLACEABLE = (ParcelStatus.CANC, ParcelStatus.RJCT)


def _record(plan: Plan, replaced: Parcel, amount: Decimal | None) -> Parcel:
    """The replacement row (once per replaced parcel: a repeated request answers the same one)."""
    with transaction.atomic():
        locked = Plan.objects.select_for_update().select_related("merchant").get(pk=plan.pk)
        existing = Parcel.objects.filter(replaces=replaced).first()
        if existing is not None:
            return existing
        if locked.status == PlanStatus.FINISHED:
            previous = locked.status
            transition(locked, locked.reopen, actor="merchant:replace", reason=replaced.end_to_end_id)
            webhook_record(plan=locked, previous=previous)
        sequence = (locked.parcels.aggregate(last=Max("sequence"))["last"] or 0) + 1
        try:
            with transaction.atomic():
                return Parcel.objects.create(
                    plan=locked,
                    sequence=sequence,
                    date=replaced.date,
                    amount=amount if amount is not None else replaced.amount,
                    end_to_end_id=end_to_end_id(replaced.date),
                    replaces=replaced,
                )
        except IntegrityError:
            raise NotReplaceable("A parcela já está sendo substituída; tente novamente.") from None


def parcel_replace(*, plan: Plan, end_to_end_id: str, amount: Decimal | None) -> Parcel:
    """The replacement of one cancelled or rejected parcel, with the URL where the payer authorises it."""
    replaced = Parcel.objects.filter(plan=plan, end_to_end_id=end_to_end_id).first()
    if replaced is None:
        raise NotFound("Parcela não encontrada neste pagamento recorrente.")
    if replaced.status not in REPLACEABLE:
        raise NotReplaceable(f"Só parcelas canceladas ou rejeitadas podem ser substituídas ({replaced.status}).")
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.FINISHED):
        raise NotReplaceable("Só parcelas de uma recorrência autorizada podem ser substituídas.")
    schedule = {"single": {"date": replaced.date.isoformat()}}
    schedules.check_bounds(schedule, today=business_date())
    parcel = _record(plan, replaced, amount)
    if parcel.redirect_uri or parcel.status != ParcelStatus.CREATED:
        if parcel.status == ParcelStatus.RJCT and not parcel.payment_id:
            raise PaymentRefused(refusal_message(parcel.rejection_reason))
        return parcel
    merchant = plan.merchant
    try:
        consent, reply = consent_create(
            application=merchant.application,
            authorisation_server_id=plan.authorisation_server_id,
            body=consent_body(plan, amount=parcel.amount, schedule=schedule),
            regulatory_version=None,
        )
    except InitiatorError as exc:
        raise BankUnavailable("A instituição do pagador não respondeu; tente substituir novamente.") from exc
    if consent is None:
        codes = error_codes(reply.body)
        with transaction.atomic():
            locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
            parcel_move(locked, ParcelStatus.RJCT, actor="bank:consent-create", reason=codes)
        plan_finish_if_done(plan)
        raise PaymentRefused(refusal_message(codes))
    Parcel.objects.filter(pk=parcel.pk).update(consent_id=consent.consent_id, redirect_uri=consent.authorisation_url)
    parcel.refresh_from_db()
    return parcel


def _follow(parcel: Parcel) -> None:
    plan = parcel.plan
    application = plan.merchant.application
    if not parcel.payment_id:
        consent = consent_status(application=application, consent_id=parcel.consent_id)
        if consent in CONSENT_REFUSED:
            reason = f"consentimento {consent_rejection(application=application, consent_id=parcel.consent_id)}"
            with transaction.atomic():
                locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
                parcel_move(locked, ParcelStatus.RJCT, actor="bank:consent", reason=reason)
            return
        if consent != "AUTHORISED":
            return
        reply = payment_create(
            application=application,
            authorisation_server_id=plan.authorisation_server_id,
            consent_id=parcel.consent_id,
            idempotency_key=parcel.id.hex,  # the same payment on a retry (payments v4 x-idempotency-key)
            body={"data": payment_items(plan, [parcel])},
        )
        with transaction.atomic():
            locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
            listed = reply.body.get("data") if reply.status_code == 201 else None
            item = listed[0] if isinstance(listed, list) and listed and isinstance(listed[0], dict) else None
            if item is None:
                parcel_move(locked, ParcelStatus.RJCT, actor="bank:payment-create", reason=error_codes(reply.body))
                return
            locked.payment_id = str(item.get("paymentId", ""))
            locked.save(update_fields=["payment_id"])
            if item.get("status") in ParcelStatus.values:
                parcel_move(locked, str(item["status"]), actor="bank:payment-create")
        return
    payment_read(payment=payment_for(application, parcel.payment_id), actor="merchant:sync")
    seen = payment_statuses(application=application, consent_id=parcel.consent_id).get(parcel.payment_id)
    if seen and seen["status"] in ParcelStatus.values:
        with transaction.atomic():
            locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
            parcel_move(locked, seen["status"], actor="bank:sync", reason=seen["reason"])


def replacements_sync(limit: int = 200) -> int:
    """Beat's door (with merchant.sync_plans): every replacement sent to its bank and not final yet."""
    count = 0
    open_replacements = (
        Parcel.objects.select_related("plan__merchant__application")
        .filter(replaces__isnull=False, status__in=PARCEL_OPEN, plan__status=PlanStatus.ACTIVE)
        .exclude(consent_id="")
        .order_by("created_at")[:limit]
    )
    for parcel in open_replacements:
        try:
            _follow(parcel)
        except InitiatorError:
            continue  # asked again by the next sweep
        plan_finish_if_done(parcel.plan)
        count += 1
    return count
