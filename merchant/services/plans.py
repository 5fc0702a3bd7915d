"""Recurring Pix plans: recorded here first (parcels and their endToEndIds included), then created at the payer's
bank as one payments v4 consent with a ``schedule`` through the initiator gateway; once the payer authorises, one
request schedules every parcel at the holder (one payment per date); cancellation cancels what remains there."""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from initiator.errors import InitiatorError
from initiator.services.consents import consent_create, participant_get
from initiator.services.for_merchants import consent_rejection, consent_status, payment_statuses
from initiator.services.payments import payment_cancel, payment_create, payment_for, payment_read, payments_cancel_all
from merchant import schedules
from merchant.errors import (
    BankUnavailable,
    IdempotencyConflict,
    InvalidRequest,
    NotCancellable,
    NotFound,
    PaymentRefused,
)
from merchant.models import PARCEL_FINAL, PARCEL_OPEN, Merchant, Parcel, ParcelStatus, Plan, PlanStatus
from merchant.refusals import refusal_message
from merchant.services.bodies import consent_body, end_to_end_id, error_codes, payment_items
from merchant.services.merchants import merchant_allow_callback
from merchant.services.webhooks import webhook_record
from opusof import clock
from opusof.timeutil import business_date
from opusof.transitions import transition

# Consent statuses after which no parcel will be scheduled (payments v4 EnumAuthorisationStatusType).
CONSENT_REFUSED = {"REJECTED", "REVOKED"}


@dataclass(frozen=True)
class Beneficiary:
    name: str
    document: str
    ispb: str
    issuer: str
    number: str
    account_type: str


@dataclass(frozen=True)
class PlanRequest:
    """A plan as every dialect understands it once its own body is parsed."""

    authorisation_server_id: str
    payer_cpf: str
    payer_cnpj: str
    beneficiary: Beneficiary
    amount: Decimal
    recurrence: str
    start: dt.date | None
    quantity: int
    dates: list[dt.date]
    description: str = ""
    own_id: str = ""
    ibge_town_code: str = ""
    callback_url: str = ""
    customer_id: uuid.UUID | None = None
    beneficiary_account_id: uuid.UUID | None = None
    confirm: bool = True  # False (Belvo ``confirm: false``): recorded only, sent by plan_submit later


def _record(*, merchant: Merchant, dialect: str, key: str, digest: str, request: PlanRequest) -> Plan:
    schedule = schedules.build(
        request.recurrence,
        start=request.start,
        quantity=request.quantity,
        dates=request.dates,
        info=request.description,
    )
    dates = schedules.check_bounds(schedule, today=business_date())
    beneficiary = request.beneficiary
    try:
        with transaction.atomic():
            plan = Plan.objects.create(
                merchant=merchant,
                dialect=dialect,
                idempotency_key=key,
                request_hash=digest,
                own_id=request.own_id,
                authorisation_server_id=request.authorisation_server_id,
                payer_cpf=request.payer_cpf,
                payer_cnpj=request.payer_cnpj,
                creditor=beneficiary.__dict__,
                amount=request.amount,
                description=request.description,
                ibge_town_code=request.ibge_town_code,
                recurrence=request.recurrence,
                schedule=schedule,
                callback_url=request.callback_url or merchant.redirect_url,
                created_at=clock.now(),  # the Efí listing's inicio/fim are business dates
                customer_id=request.customer_id,
                beneficiary_account_id=request.beneficiary_account_id,
                confirmed=request.confirm,
            )
            Parcel.objects.bulk_create(
                Parcel(plan=plan, sequence=n, date=day, amount=request.amount, end_to_end_id=end_to_end_id(day))
                for n, day in enumerate(dates, start=1)
            )
            return plan
    except IntegrityError:
        existing = Plan.objects.get(merchant=merchant, dialect=dialect, idempotency_key=key)
        if existing.request_hash != digest:
            raise IdempotencyConflict("Chave de idempotência já usada com outro conteúdo.") from None
        return existing


def plan_move(plan: Plan, status: str, *, actor: str, reason: str = "") -> None:
    """The one writer of a plan's status (history row + the merchant's webhook, in the caller's transaction)."""
    if plan.status == status:
        return
    previous = plan.status
    transition(plan, lambda: plan.move(status=status), actor=actor, reason=reason)
    webhook_record(plan=plan, previous=previous)


def parcel_move(parcel: Parcel, status: str, *, actor: str, reason: str = "") -> None:
    if parcel.status == status or parcel.status in PARCEL_FINAL:
        return
    if reason:
        parcel.rejection_reason = reason[:2048]
    previous = parcel.status
    transition(parcel, lambda: parcel.move(status=status), actor=actor, reason=reason)
    webhook_record(plan=parcel.plan, parcel=parcel, previous=previous)


def plan_create(
    *, merchant: Merchant, dialect: str, idempotency_key: str, request_hash: str, request: PlanRequest
) -> Plan:
    """Records the plan, then creates its consent at the payer's bank (through the gateway) and keeps the
    authorisation URL. The same key and body answer the same plan; a plan whose consent could not be created
    (bank unreachable) is created at the bank by the retry."""
    participant_check(request.authorisation_server_id)
    plan = _record(merchant=merchant, dialect=dialect, key=idempotency_key, digest=request_hash, request=request)
    merchant_allow_callback(merchant=merchant, callback_url=plan.callback_url)
    return plan_submit(plan=plan) if plan.confirmed else plan


def participant_check(authorisation_server_id: str, field: str = "idParticipante") -> None:
    try:
        participant_get(authorisation_server_id)
    except InitiatorError as exc:
        raise InvalidRequest("Participante (instituição do pagador) desconhecido.", field=field) from exc


def plan_submit(*, plan: Plan) -> Plan:
    """Creates the recorded plan's consent at the payer's bank; a plan already answered is answered again."""
    merchant = plan.merchant
    if plan.consent_id or plan.status != PlanStatus.AWAITING_AUTHORISATION:
        return _answered(plan)
    try:
        consent, reply = consent_create(
            application=merchant.application,
            authorisation_server_id=plan.authorisation_server_id,
            body=consent_body(plan),
            regulatory_version=None,
        )
    except InitiatorError as exc:
        raise BankUnavailable("A instituição do pagador não respondeu; tente novamente com a mesma chave.") from exc
    if consent is None:
        with transaction.atomic():
            locked = Plan.objects.select_for_update().select_related("merchant").get(pk=plan.pk)
            plan_move(locked, PlanStatus.REJECTED, actor="bank:consent-create", reason=error_codes(reply.body))
            for parcel in locked.parcels.select_for_update():
                parcel_move(parcel, ParcelStatus.RJCT, actor="bank:consent-create", reason=error_codes(reply.body))
        return _answered(locked)
    Plan.objects.filter(pk=plan.pk).update(consent_id=consent.consent_id, redirect_uri=consent.authorisation_url)
    plan.refresh_from_db()
    return plan


def _answered(plan: Plan) -> Plan:
    if plan.status == PlanStatus.REJECTED:
        last = plan.history.order_by("created_at", "id").last()
        raise PaymentRefused(refusal_message(last.reason if last else ""))
    return plan


def plan_sync(*, plan: Plan) -> Plan:
    """Follows the plan at the payer's bank as the gateway tracks it: once the consent is authorised, schedules
    every parcel (one request; the key makes a repeat answer the original payments); then takes each parcel's
    status. Idempotent: safe from beat, a read or a test."""
    merchant = plan.merchant
    if not plan.consent_id or plan.status not in (PlanStatus.AWAITING_AUTHORISATION, PlanStatus.ACTIVE):
        return plan
    consent = consent_status(application=merchant.application, consent_id=plan.consent_id)
    parcels = list(plan.parcels.all())
    if plan.status == PlanStatus.AWAITING_AUTHORISATION:
        if consent in CONSENT_REFUSED:
            reason = f"consentimento {consent_rejection(application=merchant.application, consent_id=plan.consent_id)}"
            with transaction.atomic():
                locked = Plan.objects.select_for_update().get(pk=plan.pk)
                plan_move(locked, PlanStatus.REJECTED, actor="bank:consent", reason=reason)
                for parcel in locked.parcels.select_for_update():
                    parcel_move(parcel, ParcelStatus.RJCT, actor="bank:consent", reason=reason)
            return locked
        if consent != "AUTHORISED":
            return plan
        _schedule_parcels(plan, parcels)
    _refresh_parcels(plan)
    plan_finish_if_done(plan)
    plan.refresh_from_db()
    return plan


def _schedule_parcels(plan: Plan, parcels: list[Parcel]) -> None:
    try:
        reply = payment_create(
            application=plan.merchant.application,
            authorisation_server_id=plan.authorisation_server_id,
            consent_id=plan.consent_id,
            # payments v4 allows 40 characters; the plan's id keeps it the same across retries and restarts.
            idempotency_key=plan.id.hex,
            body={"data": payment_items(plan, parcels)},
        )
    except InitiatorError as exc:
        raise BankUnavailable("A instituição do pagador não respondeu; o agendamento será refeito.") from exc
    with transaction.atomic():
        locked = Plan.objects.select_for_update().select_related("merchant").get(pk=plan.pk)
        rows = {p.end_to_end_id: p for p in Parcel.objects.select_for_update().filter(plan=locked)}
        if reply.status_code != 201:
            codes = error_codes(reply.body)
            plan_move(locked, PlanStatus.REJECTED, actor="bank:payment-create", reason=codes)
            for parcel in rows.values():
                parcel_move(parcel, ParcelStatus.RJCT, actor="bank:payment-create", reason=codes)
            return
        plan_move(locked, PlanStatus.ACTIVE, actor="bank:payment-create")
        listed = reply.body.get("data")
        for item in listed if isinstance(listed, list) else []:
            row = rows.get(str(item.get("endToEndId", "")))
            if row is None:
                continue
            if not row.payment_id:
                row.payment_id = str(item.get("paymentId", ""))
                row.save(update_fields=["payment_id"])
            if item.get("status") in ParcelStatus.values:
                parcel_move(row, str(item["status"]), actor="bank:payment-create")


def _refresh_parcels(plan: Plan) -> None:
    """Reads each open parcel at the payer's bank (the gateway verifies and tracks the answer), then takes the
    statuses: a multi-date request is answered RCVD and moved to SCHD by the bank within 60 minutes (payments v4)."""
    merchant = plan.merchant
    open_ids = Parcel.objects.filter(plan=plan, status__in=PARCEL_OPEN).exclude(payment_id="")
    for payment_id in open_ids.values_list("payment_id", flat=True):
        try:
            payment_read(payment=payment_for(merchant.application, payment_id), actor="merchant:sync")
        except InitiatorError:
            continue  # read again by the next sweep
    known = payment_statuses(application=merchant.application, consent_id=plan.consent_id)
    with transaction.atomic():
        for parcel in Parcel.objects.select_for_update().select_related("plan__merchant").filter(plan=plan):
            seen = known.get(parcel.payment_id)
            if seen and seen["status"] in ParcelStatus.values:
                parcel_move(parcel, seen["status"], actor="bank:sync", reason=seen["reason"])


def plan_finish_if_done(plan: Plan) -> None:
    with transaction.atomic():
        locked = Plan.objects.select_for_update().select_related("merchant").get(pk=plan.pk)
        if locked.status != PlanStatus.ACTIVE:
            return
        statuses = set(locked.parcels.values_list("status", flat=True))
        if statuses == {ParcelStatus.RJCT}:  # the bank refused every parcel: the plan failed, it did not finish
            reasons = set(locked.parcels.values_list("rejection_reason", flat=True))
            plan_move(locked, PlanStatus.REJECTED, actor="bank:sync", reason=", ".join(sorted(reasons))[:2048])
        elif statuses and statuses <= PARCEL_FINAL:
            plan_move(locked, PlanStatus.FINISHED, actor="bank:sync")


def plan_cancel(*, plan: Plan, actor: str) -> Plan:
    """Cancels the plan: before authorisation, here only; afterwards every remaining scheduled parcel at the
    payer's bank (payments v4 PATCH /pix/payments/consents/{consentId}: SCHD/PDNG due from the next day on)."""
    if plan.status not in (PlanStatus.AWAITING_AUTHORISATION, PlanStatus.ACTIVE):
        raise NotCancellable(f"Recorrência não pode ser cancelada ({plan.status}).")
    if (
        plan.status == PlanStatus.ACTIVE
        and not plan.parcels.filter(status__in=PARCEL_OPEN, date__gt=business_date()).exists()
    ):
        raise NotCancellable("Prazo de cancelamento encerrado: até 23:59 (Brasília) do dia anterior à cobrança.")
    if plan.status == PlanStatus.ACTIVE:
        plan = plan_sync(plan=plan)
        body = {
            "data": {
                "status": "CANC",
                "cancellation": {"cancelledBy": {"document": {"identification": plan.payer_cpf, "rel": "CPF"}}},
            }
        }
        try:
            reply = payments_cancel_all(
                application=plan.merchant.application,
                consent_id=plan.consent_id,
                body=body,
                idempotency_key=f"c{plan.id.hex}",
            )
        except InitiatorError as exc:
            raise BankUnavailable("A instituição do pagador não respondeu; tente cancelar novamente.") from exc
        if reply.status_code != 200:
            raise NotCancellable("Nenhuma parcela restante pode ser cancelada (prazo: 23:59 do dia anterior).")
        listed = reply.body.get("data")
        cancelled = {
            str(i.get("paymentId")) for i in (listed if isinstance(listed, list) else []) if isinstance(i, dict)
        }
    else:
        cancelled = set()
    with transaction.atomic():
        locked = Plan.objects.select_for_update().select_related("merchant").get(pk=plan.pk)
        for parcel in Parcel.objects.select_for_update().filter(plan=locked):
            if parcel.status == ParcelStatus.CREATED or parcel.payment_id in cancelled:
                parcel_move(parcel, ParcelStatus.CANC, actor=actor)
        locked.cancelled_at = clock.now()
        plan_move(locked, PlanStatus.CANCELLED, actor=actor)
    return locked


def plans_sync_open(limit: int = 200) -> int:
    """Beat's door: every plan still waiting for its bank or with parcels not final."""
    count = 0
    for plan in (
        Plan.objects.select_related("merchant__application")
        .filter(status__in=[PlanStatus.AWAITING_AUTHORISATION, PlanStatus.ACTIVE])
        .exclude(consent_id="")[:limit]
    ):
        try:
            plan_sync(plan=plan)
        except BankUnavailable:
            continue
        count += 1
    return count


def parcel_cancel(*, plan: Plan, parcel_id: str, actor: str) -> Parcel:
    """Cancels one scheduled parcel at the payer's bank (payments v4 PATCH /pix/payments/{paymentId}: SCHD until
    23:59 Brasília of the day before its date)."""
    parcel = Parcel.objects.filter(plan=plan, pk=parcel_id).first() if _is_uuid(parcel_id) else None
    if parcel is None:
        raise NotFound("Cobrança não encontrada.")
    if plan.status != PlanStatus.ACTIVE or parcel.status not in (ParcelStatus.SCHD, ParcelStatus.PDNG):
        raise NotCancellable(f"Cobrança não pode ser cancelada ({parcel.status}).")
    if parcel.date <= business_date():
        raise NotCancellable("Prazo de cancelamento encerrado: até 23:59 (Brasília) do dia anterior à cobrança.")
    body = {
        "data": {
            "status": "CANC",
            "cancellation": {"cancelledBy": {"document": {"identification": plan.payer_cpf, "rel": "CPF"}}},
        }
    }
    try:
        reply = payment_cancel(payment=payment_for(plan.merchant.application, parcel.payment_id), body=body)
    except InitiatorError as exc:
        raise BankUnavailable("A instituição do pagador não respondeu; tente cancelar novamente.") from exc
    if reply.status_code != 200:
        raise NotCancellable("A instituição do pagador não permitiu o cancelamento da cobrança.")
    with transaction.atomic():
        locked = Parcel.objects.select_for_update().select_related("plan__merchant").get(pk=parcel.pk)
        parcel_move(locked, ParcelStatus.CANC, actor=actor)
    plan_finish_if_done(plan)
    return locked


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
