"""Charge schedules run by the initiator (initiator_pagamentoAutomatico.md; issue "charge schedules"): an
application registers, per recurring consent, the charges it wants; beat sends each inside the window the
regulator allows before its due date, exactly once, and follows its payment to the end.

Exactly once: the due query is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` (two workers never hold the same
charge) and, in that transaction, the charge becomes SENT with its payment recorded (initiator.services.payments,
key ``chg-<charge>-<attempt>``). Only after the commit is the holder called; a worker killed in between leaves a
SUBMITTING payment that the poller sends again with the same key, so the holder answers the original."""

import calendar
import contextlib
import datetime as dt
import secrets
import string
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from initiator.errors import HolderUnreachable, NotFound, ParameterInvalid, ParameterMissing
from initiator.models import (
    Application,
    ChargeStatus,
    ConsentProduct,
    ConsentStatus,
    InitiatorConsent,
    InitiatorPayment,
    PaymentStatus,
    ScheduledCharge,
)
from initiator.services.charge_limits import limit_refusal
from initiator.services.consents import consent_for
from initiator.services.payments import _record, payment_submit, pix_url
from initiator.services.tracking import charge_move, payment_data
from opusof import clock
from opusof.timeutil import business_date, business_tz

# Pix Automático arrangement (automatic-payments-2.0.0.yml §"Agendamento", restated from the arrangement rules
# the holder enforces): a charge is sent from 10 to 2 days before its date.
AUTOMATIC_MAX_DAYS_AHEAD = 10
AUTOMATIC_MIN_DAYS_AHEAD = 2
# Retries (§2.5 "Novas tentativas"): at most 3 new attempts, within 7 days after the original date, each naming
# the original payment (originalRecurringPaymentId); only for failures the customer may still cure.
MAX_RETRIES = 3
RETRY_WINDOW_DAYS = 7
RETRYABLE_REASONS = {"SALDO_INSUFICIENTE", "VALOR_ACIMA_LIMITE", "FALHA_INFRAESTRUTURA"}
# Fields the initiator sets on each charge's body; the application's template gives the rest.
SET_BY_INITIATOR = ("recurringConsentId", "date", "payment", "endToEndId", "paymentReference")
AUTOMATIC = ConsentProduct.AUTOMATIC_PAYMENTS


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ParameterInvalid("amount inválido.") from exc
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ParameterInvalid("amount deve ser positivo, com duas casas decimais.")
    return amount


def _date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ParameterInvalid("dueDate deve ser uma data (AAAA-MM-DD).") from exc


def _monthly(rule: dict[str, Any], today: dt.date) -> list[tuple[dt.date, Decimal, str]]:
    """ "Monthly on day N for M months": the first due date on day N that can still be sent in its window, then one
    per month (day N, or the month's last day), each referenced ``M<mm>-<yyyy>`` (paymentReference of MENSAL)."""
    day, months, amount = rule.get("dayOfMonth"), rule.get("months"), _amount(rule.get("amount"))
    if not isinstance(day, int) or not 1 <= day <= 31 or not isinstance(months, int) or not 1 <= months <= 60:
        raise ParameterInvalid("rule.dayOfMonth (1-31) e rule.months (1-60) obrigatórios.")
    year, month = today.year, today.month
    charges: list[tuple[dt.date, Decimal, str]] = []
    while len(charges) < months:
        due = dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
        if (due - today).days >= AUTOMATIC_MIN_DAYS_AHEAD:
            charges.append((due, amount, f"M{due.month:02d}-{due.year}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return charges


def _window(charge: ScheduledCharge) -> tuple[dt.date, dt.date]:
    """The first and last business dates the charge may be sent: Pix Automático D-10..D-2; sweeping is paid on
    its date."""
    configuration = charge.consent.request_body.get("data", {}).get("recurringConfiguration", {})
    if "automatic" in configuration:
        return (
            charge.due_date - dt.timedelta(days=AUTOMATIC_MAX_DAYS_AHEAD),
            charge.due_date - dt.timedelta(days=AUTOMATIC_MIN_DAYS_AHEAD),
        )
    return charge.due_date, charge.due_date


def charges_register(
    *, application: Application, recurring_consent_id: str, body: Any, now: dt.datetime | None = None
) -> list[ScheduledCharge]:
    """Registers the charges an application wants on one of its recurring consents: a list (amount, dueDate,
    reference) or a monthly rule; each is sent by beat inside its window."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("payment"), dict):
        raise ParameterMissing("data.payment (modelo do pagamento) não informado.")
    consent = consent_for(application, recurring_consent_id, product=AUTOMATIC)
    if consent.status != ConsentStatus.AUTHORISED:
        raise ParameterInvalid(f"Consentimento {consent.status}: cobranças exigem AUTHORISED.")
    today = business_date(now)
    if isinstance(data.get("rule"), dict):
        wanted = _monthly(data["rule"], today)
    elif isinstance(data.get("charges"), list) and data["charges"]:
        wanted = [
            (_date(item.get("dueDate")), _amount(item.get("amount")), str(item.get("reference", "")))
            for item in data["charges"]
            if isinstance(item, dict)
        ]
    else:
        raise ParameterMissing("data.charges ou data.rule não informado.")
    template = {k: v for k, v in data["payment"].items() if k not in SET_BY_INITIATOR}
    try:
        return _create_charges(application, consent, wanted, template, today)
    except IntegrityError as exc:
        raise ParameterInvalid("Já existe cobrança com esta data e referência neste consentimento.") from exc


def _create_charges(
    application: Application,
    consent: InitiatorConsent,
    wanted: list[tuple[dt.date, Decimal, str]],
    template: dict[str, Any],
    today: dt.date,
) -> list[ScheduledCharge]:
    created = []
    with transaction.atomic():
        for due, amount, reference in wanted:
            charge = ScheduledCharge(
                application=application,
                consent=consent,
                reference=reference,
                amount=amount,
                due_date=due,
                template=template,
                send_from=due,
            )
            first, last = _window(charge)
            if last < today:
                raise ParameterInvalid(f"Cobrança de {due} fora da janela de envio (até {last}).")
            charge.send_from = max(first, today)
            charge.save()
            created.append(charge)
    return created


def charges_of(*, application: Application, recurring_consent_id: str) -> list[ScheduledCharge]:
    consent = consent_for(application, recurring_consent_id, product=AUTOMATIC)
    return list(consent.charges.select_related("payment").all())


def charge_cancel(*, application: Application, charge_id: str) -> ScheduledCharge:
    """The application no longer wants a charge that has not been sent (a sent one is cancelled at the holder
    through the recurring-payments proxy, and the charge follows its payment)."""
    key = _uuid(charge_id)
    if key is None:
        raise NotFound("Cobrança não encontrada.")
    with transaction.atomic():
        charge = (
            ScheduledCharge.objects.select_for_update()
            .select_related("application")
            .filter(application=application, pk=key)
            .first()
        )
        if charge is None:
            raise NotFound("Cobrança não encontrada.")
        if charge.status not in (ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED):
            raise ParameterInvalid(f"Cobrança {charge.status}: só cobranças ainda não enviadas são canceladas aqui.")
        charge_move(charge, status=ChargeStatus.CANCELLED, actor="application:cancel")
    return charge


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _end_to_end_id(day: dt.date) -> str:
    """E + ISPB (the initiator's: the root of its CNPJ) + yyyyMMddHHmm (UTC, the payment's date) + 11 characters."""
    moment = dt.datetime.combine(day, dt.time(12, 0), tzinfo=business_tz()).astimezone(dt.UTC)
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return f"E{settings.INITIATOR_CNPJ[:8]}{moment:%Y%m%d%H%M}{suffix}"


def _body(charge: ScheduledCharge, day: dt.date) -> dict[str, Any]:
    data = {
        **charge.template,
        "recurringConsentId": charge.consent.consent_id,
        "date": day.isoformat(),
        "payment": {"amount": f"{charge.amount:.2f}", "currency": "BRL"},
        "endToEndId": _end_to_end_id(day),
    }
    if charge.reference:
        data["paymentReference"] = charge.reference
    if charge.original_payment_id:
        data["originalRecurringPaymentId"] = charge.original_payment_id
    return {"data": data}


def _follow(today: dt.date) -> None:
    """SENT charges whose payment ended: paid, cancelled, or refused (retried when the reason and the rules allow)."""
    for charge_id in ScheduledCharge.objects.filter(
        status=ChargeStatus.SENT,
        payment__status__in=[PaymentStatus.ACSC, PaymentStatus.CANC, PaymentStatus.RJCT],
    ).values_list("pk", flat=True):
        with transaction.atomic():
            charge = (
                ScheduledCharge.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("payment", "application", "consent")
                .filter(pk=charge_id, status=ChargeStatus.SENT)
                .first()
            )
            if charge is None or charge.payment is None:
                continue
            payment = charge.payment
            if payment.status == PaymentStatus.ACSC:
                charge_move(charge, status=ChargeStatus.PAID, actor="holder:payment")
            elif payment.status == PaymentStatus.CANC:
                charge_move(charge, status=ChargeStatus.CANCELLED, actor="holder:payment")
            else:
                _refused(charge, payment, today)


def _refused(charge: ScheduledCharge, payment: InitiatorPayment, today: dt.date) -> None:
    data = payment_data(payment.holder_body)
    rejection = data.get("rejectionReason") if isinstance(data.get("rejectionReason"), dict) else {}
    errors = payment.holder_body.get("errors") or []
    code = str((rejection or {}).get("code") or (errors[0].get("code") if errors else ""))
    original = charge.original_payment_id or (payment.payment_id or "")
    retry_accepted = bool(
        charge.consent.request_body.get("data", {})
        .get("recurringConfiguration", {})
        .get("automatic", {})
        .get("isRetryAccepted")
    )
    last_retry_day = charge.due_date + dt.timedelta(days=RETRY_WINDOW_DAYS)
    retryable = code in RETRYABLE_REASONS and original and retry_accepted
    if retryable and charge.attempts <= MAX_RETRIES and today < last_retry_day:
        charge.original_payment_id = original
        charge.send_from = max(today, charge.due_date + dt.timedelta(days=1))
        charge_move(charge, status=ChargeStatus.RETRY_SCHEDULED, actor="holder:payment", reason=code)
        return
    charge_move(charge, status=ChargeStatus.REJECTED, actor="holder:payment", reason=code or "recusado")


def _claim(today: dt.date) -> tuple[ScheduledCharge, InitiatorPayment | None] | None:
    """One due charge, locked (SKIP LOCKED), decided and — when it is to be sent — recorded as a payment with its
    key, in one transaction. Returns the charge and the payment to send after the commit (None: decided here)."""
    with transaction.atomic():
        charge = (
            ScheduledCharge.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("consent__participant", "application")
            .filter(status__in=[ChargeStatus.SCHEDULED, ChargeStatus.RETRY_SCHEDULED], send_from__lte=today)
            .order_by("send_from", "due_date")
            .first()
        )
        if charge is None:
            return None
        last = _window(charge)[1]
        retry = charge.status == ChargeStatus.RETRY_SCHEDULED
        if not retry and today > last:
            charge_move(charge, status=ChargeStatus.MISSED, actor="beat", reason=f"Janela encerrada em {last}.")
            return charge, None
        if retry and today > charge.due_date + dt.timedelta(days=RETRY_WINDOW_DAYS):
            reason = f"Prazo de novas tentativas encerrado ({RETRY_WINDOW_DAYS} dias após {charge.due_date})."
            charge_move(charge, status=ChargeStatus.REJECTED, actor="beat", reason=reason)
            return charge, None
        if charge.consent.status != ConsentStatus.AUTHORISED:
            reason = f"Consentimento {charge.consent.status}."
            charge_move(charge, status=ChargeStatus.REJECTED, actor="beat", reason=reason)
            return charge, None
        refusal = limit_refusal(charge, today)
        if refusal:
            charge_move(charge, status=ChargeStatus.LIMIT_REACHED, actor="beat", reason=refusal)
            return charge, None
        day = max(today, charge.due_date + dt.timedelta(days=1)) if retry else charge.due_date
        charge.attempts += 1
        payment = _record(
            charge.application, charge.consent, f"chg-{charge.id.hex}-{charge.attempts}", _body(charge, day)
        )
        charge.payment = payment
        charge_move(charge, status=ChargeStatus.SENT, actor="beat")
    return charge, payment


def charges_send_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Beat's sweep: follows sent charges, then sends every charge whose window is open. Returns how many were
    sent to the holder."""
    today = business_date(now or clock.now())
    _follow(today)
    sent = 0
    for _ in range(limit):
        claimed = _claim(today)
        if claimed is None:
            break
        charge, payment = claimed
        if payment is None:
            continue
        url, version = pix_url(charge.consent)
        # A lost answer leaves the payment SUBMITTING: the poller resends it with the same key.
        with contextlib.suppress(HolderUnreachable):
            payment_submit(payment=payment, url=url, version=version)
        sent += 1
    _follow(today)
    return sent
