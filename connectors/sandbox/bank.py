"""The sandbox bank: a small core bank in opusof's own database, speaking the connector contract.

Each account carries a ``behaviour`` so every answer a real bank can give is reachable: normal, insufficient
funds, limit exceeded, slow, offline (ConnectorUnavailable) and pending-then-settle. Scenario amounts of the
conformance suite are in ``connectors.sandbox.scenarios``; the rules it refuses by in ``rules``, its money in
``ledger``, its Pix key directory, QR codes and customer login in ``directory``.

An immediate payment that settles costs four statements here: the accounts (with the debtor's daily use), the
claim of the key, the accounts' row locks, and one statement of the ledger rows, balances and the payment
(docs/scaling.md).
"""

import datetime as dt
import time
from collections.abc import Iterator, Sequence

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.interfaces import (
    BankPaymentRecord,
    BankPaymentStatus,
    ConnectorError,
    ConnectorRejected,
    ConnectorUnavailable,
    ConsentInfo,
    DiscoveredAccount,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
    ValidationIssue,
    ValidationResult,
)
from connectors.models import SandboxAccount, SandboxCustomer, SandboxPayment, SandboxQrCode
from connectors.sandbox import ledger, scenarios
from connectors.sandbox.directory import PixKeyEntry, SandboxDirectory
from connectors.sandbox.rules import (
    INITIATION_REFUSALS,
    INSUFFICIENT_FUNDS_DETAIL,
    Accounts,
    dynamic_qr,
    issues,
    load_accounts,
    own_ispb,
)
from opusof.brcode import parse_brcode
from opusof.timeutil import business_date

__all__ = ["INSUFFICIENT_FUNDS_DETAIL", "SETTLE_BATCH_SIZE", "PixKeyEntry", "SandboxBank"]

Behaviour = SandboxAccount.Behaviour
Status = BankPaymentStatus
# Payments settled per transaction by settle_due: its widest statements (the payments' UPDATE, 6 values a row; the
# ledger's INSERT, 2 rows of 6 a payment) stay far below PostgreSQL's 65 535 bind parameters.
SETTLE_BATCH_SIZE = 1000


class SandboxBank(SandboxDirectory):
    """Implements ValidatePaymentData, DiscoverAccounts, InitiatePayment, GetPaymentStatus, CancelPayment and
    ListBankPayments."""

    LISTING_PAGE = 1000

    # --- the connector contract -------------------------------------------------------------------------------

    def validate_payment_data(self, data: PaymentData) -> ValidationResult:
        """Every rule the payment breaks, one issue per OFB code; the domain picks by the spec's priority table."""
        accounts = load_accounts(data)
        self._behave(accounts.debtor)
        return ValidationResult(tuple(ValidationIssue(code, detail) for code, detail in issues(data, accounts)))

    def discover_accounts(
        self, *, customer_document: str, business_document: str | None = None, consent: ConsentInfo | None = None
    ) -> list[DiscoveredAccount]:
        """The customer's own accounts here, or the business's when the customer is one of its authorised people."""
        owner_filter = Q(owner__document=customer_document, owner__kind=SandboxCustomer.Kind.INDIVIDUAL)
        if business_document:
            owner_filter = Q(
                owner__document=business_document,
                owner__kind=SandboxCustomer.Kind.BUSINESS,
                owner__authorised_people__document=customer_document,
            )
        accounts = SandboxAccount.objects.filter(owner_filter, ispb=own_ispb()).select_related("owner")
        return [
            DiscoveredAccount(
                account=account.ref,
                holder_name=account.owner.name,
                holder_document=account.owner.document,
                may_pay=account.may_pay,
            )
            for account in accounts.order_by("pk")
        ]

    def initiate_payment(self, initiation: PaymentInitiation) -> PaymentStatusResult:
        """Settles an immediate payment now (ACSC), or schedules it (SCHD), or holds it (PDNG) per behaviour and
        scenario. Idempotent on ``idempotency_key``: a repeated key, even concurrent, returns the first result and
        never moves money twice. A refusal raises ConnectorRejected and leaves nothing behind."""
        data = initiation.data
        accounts = load_accounts(data)
        self._behave(accounts.debtor)
        with transaction.atomic():
            if accounts.debtor is None:
                existing = SandboxPayment.objects.filter(idempotency_key=initiation.idempotency_key).first()
                if existing is not None:
                    return self._result(existing)
                raise ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA", "Conta de origem não encontrada.")
            payment, created = ledger.claim(initiation, accounts)
            if not created:
                if payment.pk is None:
                    raise ConnectorRejected(
                        "PAGAMENTO_RECUSADO_DETENTORA",
                        f"paymentId {initiation.payment_id} já recebido com outra chave.",
                    )
                return self._result(payment)
            # Checked only once the key is ours: a concurrent twin that already paid must not turn our answer
            # into SALDO_INSUFICIENTE; we answer with its result instead.
            found = dict(issues(data, accounts))
            for code, raised in INITIATION_REFUSALS:
                if code in found:
                    raise ConnectorRejected(raised, found[code])
            self._decide(payment, data, accounts)
            return self._result(payment)

    def get_payment_status(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        """Current status; a PDNG payment past its ``settle_after`` or a SCHD one whose day has come settles first."""
        answer = self.get_payment_statuses([(payment_id, end_to_end_id)])[payment_id]
        if isinstance(answer, ConnectorError):
            raise answer
        return answer

    def get_payment_statuses(
        self, payments: Sequence[tuple[str, str]]
    ) -> dict[str, PaymentStatusResult | ConnectorError]:
        """``get_payment_status`` for a batch (the due sweep's): one locked read of the payments, and the ones that
        settle move money together (``ledger.settle``). An unknown payment or an offline debtor is that payment's answer
        (ConnectorRejected, ConnectorUnavailable) and leaves it as it was."""
        wanted = dict(payments)
        answers: dict[str, PaymentStatusResult | ConnectorError] = {}
        with transaction.atomic():
            found = (
                SandboxPayment.objects.select_related("debtor_account")
                .select_for_update(of=("self",))
                .filter(payment_id__in=wanted)
                .order_by("pk")
            )
            live = []
            for payment in found:
                if payment.end_to_end_id != wanted[payment.payment_id]:
                    continue
                try:
                    self._behave(payment.debtor_account)
                except ConnectorUnavailable as exc:
                    answers[payment.payment_id] = exc
                    continue
                live.append(payment)
            ledger.advance(live, force=False)
        answers.update((payment.payment_id, self._result(payment)) for payment in live)
        return {
            payment_id: answers.get(
                payment_id, ConnectorRejected("NAO_INFORMADO", f"Pagamento {payment_id} desconhecido pela detentora.")
            )
            for payment_id in wanted
        }

    def cancel_payment(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        """SCHD or PDNG → CANC; anything else raises ConnectorRejected(PAGAMENTO_NAO_PERMITE_CANCELAMENTO)."""
        payment = self._payment(payment_id, end_to_end_id)
        self._behave(payment.debtor_account)
        with transaction.atomic():
            payment = SandboxPayment.objects.select_for_update().get(pk=payment.pk)
            if payment.status not in (Status.SCHD, Status.PDNG):
                raise ConnectorRejected(
                    "PAGAMENTO_NAO_PERMITE_CANCELAMENTO", f"Pagamento em {payment.status} não pode ser cancelado."
                )
            payment.status = Status.CANC
            payment.cancelled_at = timezone.now()
            payment.save(update_fields=["status", "cancelled_at"])
            return self._result(payment)

    def list_bank_payments(self, *, since: dt.datetime | None = None) -> Iterator[BankPaymentRecord]:
        """Every payment received, created, settled or cancelled at or after ``since``, oldest first, read a page at
        a time (reconciliation of a large day does not hold one long query open)."""
        after = 0
        while True:
            page, after_next = self.bank_payments_page(since=since, after=after, limit=self.LISTING_PAGE)
            yield from page
            if after_next is None:
                return
            after = after_next

    def bank_payments_page(
        self, *, since: dt.datetime | None, after: int, limit: int
    ) -> tuple[list[BankPaymentRecord], int | None]:
        """One page of ``list_bank_payments``: the payments past the cursor ``after`` (a row id) and the cursor of
        the next page (None on the last). A refusal at settlement has no timestamp of its own, so a scheduled payment
        refused today but received before ``since`` is not listed: reconciliation asks the status route for it."""
        rows = SandboxPayment.objects.filter(pk__gt=after)
        if since is not None:
            rows = rows.filter(Q(created_at__gte=since) | Q(settled_at__gte=since) | Q(cancelled_at__gte=since))
        page = list(rows.order_by("pk")[:limit])
        records = [
            BankPaymentRecord(
                payment_id=row.payment_id,
                end_to_end_id=row.end_to_end_id,
                status=Status(row.status),
                amount=row.amount,
                created_at=row.created_at,
                updated_at=max(filter(None, (row.created_at, row.settled_at, row.cancelled_at))),
                idempotency_key=row.idempotency_key,
                rejection_code=row.rejection_code or None,
                bank_reference=f"sandbox-{row.pk}",
            )
            for row in page
        ]
        return records, (page[-1].pk if len(page) == limit else None)

    # --- sandbox operations (tests, demo, Celery beat) ---------------------------------------------------------

    def settle_due(self, day: dt.date | None = None) -> dict[str, PaymentStatusResult]:
        """The bank's settlement run: SCHD payments dated up to ``day`` (today in Brasilia by default) settle or
        fail on balance (RJCT SALDO_INSUFICIENTE); PDNG payments past ``settle_after`` settle too.

        In batches of SETTLE_BATCH_SIZE, one transaction each, oldest first: one statement for all of 20 000 due
        payments would carry more than PostgreSQL's 65 535 bind parameters, and one transaction would hold every
        debtor account locked for the whole run. A settled payment is no longer due, so each batch finds the next.
        """
        day = day or business_date()
        settled: dict[str, PaymentStatusResult] = {}
        last_pk = 0
        while True:
            with transaction.atomic():
                due = SandboxPayment.objects.select_for_update(skip_locked=True).filter(
                    Q(status=Status.SCHD, scheduled_date__lte=day)
                    | Q(status=Status.PDNG, settle_after__lte=timezone.now()),
                    pk__gt=last_pk,
                )
                # Forced: the query already chose them by date (``day`` may be ahead of today) and settle_after.
                payments = list(due.order_by("pk")[:SETTLE_BATCH_SIZE])
                ledger.advance(payments, force=True)
            settled.update((payment.payment_id, self._result(payment)) for payment in payments)
            if len(payments) < SETTLE_BATCH_SIZE:
                return settled
            last_pk = payments[-1].pk

    def force_settle(self, payment_id: str) -> PaymentStatusResult:
        """Settles a PDNG or SCHD payment now, whatever its date or delay (tests)."""
        with transaction.atomic():
            payment = SandboxPayment.objects.select_for_update().get(payment_id=payment_id)
            ledger.advance([payment], force=True)
            return self._result(payment)

    # --- deciding an initiation --------------------------------------------------------------------------------

    def _decide(self, payment: SandboxPayment, data: PaymentData, accounts: Accounts) -> None:
        """Sets the claimed payment's status and writes it (with the money it moves, when it settles)."""
        debtor = accounts.debtor
        assert debtor is not None
        use_scenarios = scenarios.scenarios_enabled()
        amount = data.amount
        if use_scenarios and scenarios.is_payment_rejection_scenario(amount):
            raise ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA", "Cenário de teste: pagamento recusado.")
        if data.qr_code:
            self._use_dynamic_qr(payment, data.qr_code)
        moves = ledger.Moves()
        if payment.scheduled_date is not None:
            payment.status = Status.SCHD
        elif use_scenarios and amount == scenarios.HOLDER_REJECTS:
            payment.status = Status.RJCT
            payment.rejection_code = "PAGAMENTO_RECUSADO_DETENTORA"
            payment.rejection_detail = "Cenário de teste: pagamento recusado pela detentora."
        elif use_scenarios and scenarios.FIXED_STATUS.get(amount, Status.ACSC) != Status.ACSC:
            payment.status = scenarios.FIXED_STATUS[amount]
        elif debtor.behaviour == Behaviour.PENDING_THEN_SETTLE or (
            use_scenarios and amount in scenarios.PENDING_AMOUNTS
        ):
            ledger.hold(payment, debtor.settle_delay_seconds)
        else:
            moves = ledger.settle([payment])
            if payment.status != Status.ACSC:
                # Checked before without a lock; a concurrent debit may have spent the money since.
                raise ConnectorRejected("SALDO_INSUFICIENTE", INSUFFICIENT_FUNDS_DETAIL)
        ledger.write([payment], [*ledger.PAYMENT_FIELDS, "settle_after", "qr_code"], moves)

    def _use_dynamic_qr(self, payment: SandboxPayment, qr_code: str) -> None:
        code = parse_brcode(qr_code)
        qr = dynamic_qr(code.url) if code.is_dynamic else None
        if qr is None:
            return
        # A conditional UPDATE: of two payments racing for one charge, the second finds it no longer ACTIVE.
        if not SandboxQrCode.objects.filter(pk=qr.pk, status=SandboxQrCode.Status.ACTIVE).update(
            status=SandboxQrCode.Status.USED
        ):
            raise ConnectorRejected("COBRANCA_INVALIDA", "Cobrança já paga.")
        payment.qr_code = qr

    # --- lookups --------------------------------------------------------------------------------------------------

    @staticmethod
    def _behave(account: SandboxAccount | None) -> None:
        if account is None:
            return
        if account.behaviour == Behaviour.OFFLINE:
            raise ConnectorUnavailable(f"Sandbox: conta {account} configurada como fora do ar.")
        if account.behaviour == Behaviour.SLOW:
            time.sleep(account.slow_seconds)

    @staticmethod
    def _payment(payment_id: str, end_to_end_id: str) -> SandboxPayment:
        payment = (
            SandboxPayment.objects.select_related("debtor_account")
            .filter(payment_id=payment_id, end_to_end_id=end_to_end_id)
            .first()
        )
        if payment is None:
            raise ConnectorRejected("NAO_INFORMADO", f"Pagamento {payment_id} desconhecido pela detentora.")
        return payment

    @staticmethod
    def _result(payment: SandboxPayment) -> PaymentStatusResult:
        return PaymentStatusResult(
            status=Status(payment.status),
            rejection_code=payment.rejection_code or None,
            rejection_detail=payment.rejection_detail,
            bank_reference=f"sandbox-{payment.pk}",
            settled_at=payment.settled_at,
        )
