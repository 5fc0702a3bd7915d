"""Reconciliation of opusof's payment records with the bank's books (``docs/reconciliation.md``).

Both directions: every record of ours (payments v4 and automatic payments v2) against the bank's view of it, and
every payment the bank lists against our records. A disagreement becomes an open BankDiscrepancy (one per payment
and kind; a re-run updates it, and resolves it once both sides agree). ``apply`` resolves what asking the bank can
resolve: a status that differs is asked again through the status route and applied through the payment's FSM
(``payments.lifecycle.apply_bank_status``, which for our own infrastructure rejection takes the
``follow_bank`` transition and flags the payment for staff). Nothing else is changed: a record the bank does not
know, a bank payment with no record here, an amount that differs stay open for staff.

``manage.py reconcile_bank`` and the admin's "re-check" action both call this module.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from connectors.interfaces import (
    BankPaymentRecord,
    BankPaymentStatus,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentContext,
    PaymentStatusResult,
)
from connectors.registry import bank_payment_lister, payment_status_reader
from payments.discrepancies import BankDiscrepancy
from payments.lifecycle import apply_bank_status
from payments.models import PaymentStatus, PixPayment
from payments.services import payment_connector_context
from recurring.models import RecurringPayment

OurPayment = PixPayment | RecurringPayment
Kind = BankDiscrepancy.Kind
Record = BankDiscrepancy.Record
ACTOR = "staff:reconcile_bank"
# Statuses in which no money moved and none will: a record the bank does not know in one of them agrees with it
# (a refusal leaves nothing at the bank), and a bank payment in one of them is no orphan debit.
_NOTHING_MOVED = frozenset({PaymentStatus.RJCT, PaymentStatus.CANC})


@dataclass(frozen=True)
class Finding:
    """One disagreement as found in this run."""

    kind: str
    record: str
    payment_id: str
    end_to_end_id: str
    our_status: str = ""
    bank_status: str = ""
    our_amount: Decimal | None = None
    bank_amount: Decimal | None = None
    bank_reference: str = ""
    detail: str = ""

    def line(self) -> str:
        """One line for the operator's terminal."""
        sides = f"ours {self.our_status or '-'}, bank {self.bank_status or '-'}"
        if self.kind == Kind.AMOUNT_MISMATCH:
            sides = f"ours {self.our_amount}, bank {self.bank_amount}"
        return f"{self.kind} {self.payment_id} e2e={self.end_to_end_id or '-'}: {sides}. {self.detail}".strip()


@dataclass
class ReconciliationReport:
    checked: int = 0
    bank_payments: int = 0
    findings: list[Finding] = field(default_factory=list)
    resolved: list[tuple[Finding, str]] = field(default_factory=list)
    unchecked: list[tuple[str, str]] = field(default_factory=list)  # (payment id, why the bank could not say)

    @property
    def still_open(self) -> list[Finding]:
        done = {id(finding) for finding, _ in self.resolved}
        return [finding for finding in self.findings if id(finding) not in done]

    @property
    def clean(self) -> bool:
        return not self.still_open and not self.unchecked


@dataclass
class _Check:
    """What one record's check produced: findings, or why the bank could not be asked."""

    findings: list[Finding] = field(default_factory=list)
    unchecked: str = ""


def _kind_of(payment: OurPayment) -> str:
    return Record.RECURRING_PAYMENT if isinstance(payment, RecurringPayment) else Record.PAYMENT


def _ours_in_scope(since: dt.datetime | None) -> list[OurPayment]:
    """Our records created or changed at or after ``since`` (every one without it)."""
    window = Q() if since is None else Q(created_at__gte=since) | Q(status_updated_at__gte=since)
    ours: list[OurPayment] = list(PixPayment.objects.filter(window).select_related("consent").order_by("pk"))
    ours.extend(RecurringPayment.objects.filter(window).select_related("consent").order_by("pk"))
    return ours


def _ours_by_id(payment_ids: Iterable[str]) -> dict[str, OurPayment]:
    wanted = list(payment_ids)
    found: dict[str, OurPayment] = {
        p.payment_id: p for p in PixPayment.objects.filter(payment_id__in=wanted).select_related("consent")
    }
    found.update(
        (p.recurring_payment_id, p)
        for p in RecurringPayment.objects.filter(recurring_payment_id__in=wanted).select_related("consent")
    )
    return found


def _ask_bank(payment_id: str, end_to_end_id: str, payment: OurPayment | None) -> PaymentStatusResult:
    """The status route. A payments v4 record goes with its consent (FindPixPayment's ``consent``); a recurring one
    and an orphan with the ids only, as ``reprocess_payment`` asks."""
    context: PaymentContext | None = payment_connector_context(payment) if isinstance(payment, PixPayment) else None
    return payment_status_reader().get_payment_status(
        payment_id=payment_id, end_to_end_id=end_to_end_id, context=context
    )


def _compare(payment: OurPayment, bank: BankPaymentRecord | None) -> _Check:
    """Our record against the bank's view: the listing's entry, or the status route when the listing (limited by
    ``since``) did not name it."""
    ours = Finding(
        kind="",
        record=_kind_of(payment),
        payment_id=payment.resource_id,
        end_to_end_id=payment.end_to_end_id,
        our_status=payment.status,
        our_amount=payment.amount,
    )
    if bank is None:
        if payment.status == PaymentStatus.RCVD:
            return _Check()  # not handed to the bank yet (the worker's batch); nothing to compare
        try:
            result = _ask_bank(payment.resource_id, payment.end_to_end_id, payment)
        except ConnectorRejected as exc:
            if payment.status in _NOTHING_MOVED:
                return _Check()
            detail = f"A detentora não conhece o pagamento ({exc.code})."
            return _Check([_replace(ours, kind=Kind.UNKNOWN_TO_BANK, detail=detail)])
        except ConnectorUnavailable as exc:
            return _Check(unchecked=str(exc))
        bank_status, bank_amount, reference = str(result.status), None, result.bank_reference
        rejection = result.rejection_code or ""
    else:
        bank_status, bank_amount, reference = str(bank.status), bank.amount, bank.bank_reference
        rejection = bank.rejection_code or ""
    found = []
    seen = _replace(ours, bank_status=bank_status, bank_amount=bank_amount, bank_reference=reference[:100])
    if bank_status != payment.status:
        reason = f" ({rejection})" if rejection else ""
        found.append(_replace(seen, kind=Kind.STATUS_MISMATCH, detail=f"A detentora informa {bank_status}{reason}."))
    if bank_amount is not None and bank_amount != payment.amount:
        found.append(_replace(seen, kind=Kind.AMOUNT_MISMATCH, detail="Valores divergentes."))
    return _Check(found)


def _orphan(bank: BankPaymentRecord) -> _Check:
    if bank.status in _NOTHING_MOVED:
        return _Check()
    return _Check(
        [
            Finding(
                kind=Kind.ORPHAN_AT_BANK,
                record=Record.NONE,
                payment_id=bank.payment_id,
                end_to_end_id=bank.end_to_end_id,
                bank_status=str(bank.status),
                bank_amount=bank.amount,
                bank_reference=bank.bank_reference[:100],
                detail="Pagamento na detentora sem registro no opusof (débito órfão).",
            )
        ]
    )


def _replace(finding: Finding, **changes: object) -> Finding:
    return Finding(**{**finding.__dict__, **changes})


def reconcile_bank(
    *,
    since: dt.datetime | None = None,
    apply: bool = False,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReconciliationReport:
    """Compares our records (created or changed since ``since``) and the bank's payments (listed since ``since``),
    records every disagreement as an open BankDiscrepancy and, with ``apply``, resolves the statuses the bank's
    status route settles. ``on_total`` gets the number of items to check, ``on_progress`` each step (the command's
    progress bar). ConnectorUnavailable when the bank's list cannot be read."""
    listed = {record.payment_id: record for record in bank_payment_lister().list_bank_payments(since=since)}
    ours = {payment.resource_id: payment for payment in _ours_in_scope(since)}
    # A bank payment that changed since ``since`` may be a record of ours that did not (not polled yet).
    ours.update(_ours_by_id(set(listed) - set(ours)))
    orphans = [record for payment_id, record in listed.items() if payment_id not in ours]
    report = ReconciliationReport(bank_payments=len(listed))
    if on_total is not None:
        on_total(len(ours) + len(orphans))
    checks: dict[str, _Check] = {}
    for payment_id, payment in ours.items():
        checks[payment_id] = _compare(payment, listed.get(payment_id))
        if on_progress is not None:
            on_progress(1)
    for record in orphans:
        checks[record.payment_id] = _orphan(record)
        if on_progress is not None:
            on_progress(1)
    report.checked = len(checks)
    _record(checks, report)
    if apply:
        _apply(report, ours)
    return report


def _record(checks: dict[str, _Check], report: ReconciliationReport) -> None:
    """Opens (or refreshes) a BankDiscrepancy per finding and resolves the open ones of the payments now agreeing."""
    now = timezone.now()
    found: set[tuple[str, str]] = set()
    with transaction.atomic():
        for payment_id, check in checks.items():
            if check.unchecked:
                report.unchecked.append((payment_id, check.unchecked))
                continue
            report.findings.extend(check.findings)
            for finding in check.findings:
                _open(finding, now=now)
                found.add((payment_id, finding.kind))
        # Open rows are few (staff work them off), so they are read whole rather than by the checked ids.
        agreeing = [
            pk
            for pk, payment_id, kind in BankDiscrepancy.objects.filter(state=BankDiscrepancy.State.OPEN).values_list(
                "pk", "payment_id", "kind"
            )
            if payment_id in checks and not checks[payment_id].unchecked and (payment_id, kind) not in found
        ]
        BankDiscrepancy.objects.filter(pk__in=agreeing).update(
            state=BankDiscrepancy.State.RESOLVED, resolved_at=now, checked_at=now, resolution="Lados concordam."
        )


def _open(finding: Finding, *, now: dt.datetime) -> None:
    columns = {key: value for key, value in finding.__dict__.items() if key not in ("kind", "payment_id")}
    columns["detail"] = finding.detail[:1024]
    updated = BankDiscrepancy.objects.filter(
        payment_id=finding.payment_id, kind=finding.kind, state=BankDiscrepancy.State.OPEN
    ).update(**columns, checked_at=now)
    if not updated:
        BankDiscrepancy.objects.create(
            kind=finding.kind, payment_id=finding.payment_id, found_at=now, checked_at=now, **columns
        )


def _apply(report: ReconciliationReport, ours: dict[str, OurPayment]) -> None:
    for finding in report.findings:
        if finding.kind != Kind.STATUS_MISMATCH or finding.payment_id not in ours:
            continue
        outcome = _follow_bank(ours[finding.payment_id])
        if outcome is not None:
            report.resolved.append((finding, outcome))


def _follow_bank(payment: OurPayment) -> str | None:
    """Asks the bank again and moves our record to its answer through the FSM. The resolution text, or None when
    the disagreement stays (left open, with why)."""
    payment_id = payment.resource_id
    try:
        result = _ask_bank(payment_id, payment.end_to_end_id, payment)
    except (ConnectorRejected, ConnectorUnavailable) as exc:
        _note(payment_id, Kind.STATUS_MISMATCH, f"Detentora não respondeu à nova consulta: {exc}")
        return None
    model = type(payment)
    with transaction.atomic():
        # Asked before taking the lock (no transaction open across the remote call); a record that changed in
        # between is left for the next run.
        locked = model._default_manager.select_for_update().get(pk=payment.pk)
        if locked.status != payment.status:
            return None
        before = locked.status
        try:
            changed = apply_bank_status(locked, result, actor=ACTOR)
        except TransitionNotAllowed:
            _note(payment_id, Kind.STATUS_MISMATCH, f"Máquina de estados não segue {before} → {result.status}.")
            return None
        resolution = f"{before} → {locked.status} (status da detentora)" if changed else "Lados concordam."
        now = timezone.now()
        BankDiscrepancy.objects.filter(
            payment_id=payment_id, kind=Kind.STATUS_MISMATCH, state=BankDiscrepancy.State.OPEN
        ).update(state=BankDiscrepancy.State.RESOLVED, resolved_at=now, checked_at=now, resolution=resolution)
    return resolution


def _note(payment_id: str, kind: str, detail: str) -> None:
    BankDiscrepancy.objects.filter(payment_id=payment_id, kind=kind, state=BankDiscrepancy.State.OPEN).update(
        detail=detail[:1024], checked_at=timezone.now()
    )


def discrepancies_recheck(*, discrepancies: Iterable[BankDiscrepancy], apply: bool = False) -> ReconciliationReport:
    """The admin's re-check: the payments of the given discrepancies checked again, one by one, through the status
    route (no listing), recorded as ``reconcile_bank`` records them, and applied when ``apply``."""
    payment_ids = {discrepancy.payment_id: discrepancy for discrepancy in discrepancies}
    ours = _ours_by_id(payment_ids)
    checks: dict[str, _Check] = {}
    for payment_id, discrepancy in payment_ids.items():
        payment = ours.get(payment_id)
        if payment is not None:
            checks[payment_id] = _compare(payment, None)
            continue
        try:
            result = _ask_bank(payment_id, discrepancy.end_to_end_id, None)
        except ConnectorRejected:
            checks[payment_id] = _Check()  # the bank no longer knows it either
            continue
        except ConnectorUnavailable as exc:
            checks[payment_id] = _Check(unchecked=str(exc))
            continue
        checks[payment_id] = _orphan(
            BankPaymentRecord(
                payment_id=payment_id,
                end_to_end_id=discrepancy.end_to_end_id,
                status=BankPaymentStatus(result.status),
                amount=discrepancy.bank_amount or Decimal("0"),
                created_at=discrepancy.found_at,
                updated_at=timezone.now(),
                bank_reference=result.bank_reference or discrepancy.bank_reference,
            )
        )
    report = ReconciliationReport(checked=len(checks))
    _record(checks, report)
    if apply:
        _apply(report, ours)
    return report
