"""The sandbox bank: a small core bank in opusof's own database, speaking the connector contract.

Each account carries a ``behaviour`` so every answer a real bank can give is reachable: normal, insufficient
funds, limit exceeded, slow, offline (ConnectorUnavailable) and pending-then-settle. Scenario amounts of the
conformance suite are in ``connectors.sandbox.scenarios``.
"""

import datetime as dt
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from connectors.interfaces import (
    AccountRef,
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
from connectors.models import (
    SandboxAccount,
    SandboxCustomer,
    SandboxLedgerEntry,
    SandboxPayment,
    SandboxPixKey,
    SandboxQrCode,
)
from connectors.sandbox import scenarios
from opusof.brcode import BrCodeError, build_dynamic, build_static, parse_brcode
from opusof.bulk import update_rows
from opusof.timeutil import business_date, business_tz, rfc3339

Behaviour = SandboxAccount.Behaviour
Status = BankPaymentStatus
INSUFFICIENT_FUNDS_DETAIL = "A conta selecionada não possui saldo suficiente para realizar o pagamento."
# Consent-stage codes become the payment-stage code raised at initiation (payments v4 §2.2.2: an account or QR
# the holder refuses is PAGAMENTO_RECUSADO_DETENTORA), most specific first (§5.2 for the consent-stage order).
_INITIATION_REFUSALS = [
    ("CONTA_NAO_PERMITE_PAGAMENTO", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("CONTAS_ORIGEM_DESTINO_IGUAIS", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("DETALHE_PAGAMENTO_INVALIDO", "DETALHE_PAGAMENTO_INVALIDO"),
    ("VALOR_INVALIDO", "VALOR_INVALIDO"),
    ("QRCODE_INVALIDO", "PAGAMENTO_RECUSADO_DETENTORA"),
    ("COBRANCA_INVALIDA", "COBRANCA_INVALIDA"),
    ("VALOR_ACIMA_LIMITE", "VALOR_ACIMA_LIMITE"),
    ("SALDO_INSUFICIENTE", "SALDO_INSUFICIENTE"),
    ("NAO_INFORMADO", "NAO_INFORMADO"),
]
# Money already committed today counts against the daily limit.
# Payments settled per transaction by settle_due: its widest statements (the payments' UPDATE, 6 values a row; the
# ledger's INSERT, 2 rows of 6 a payment) stay far below PostgreSQL's 65 535 bind parameters.
SETTLE_BATCH_SIZE = 1000
_COMMITTED = [Status.ACSC, Status.ACCP, Status.ACPD, Status.PDNG]


@dataclass(frozen=True)
class PixKeyEntry:
    """A DICT entry: the key, the account it points at and that account's owner."""

    key: str
    key_type: str
    account: AccountRef
    owner_name: str
    owner_document: str


def _account_key(ref: AccountRef) -> tuple[str, str, str, str]:
    return (ref.ispb, ref.issuer or "", ref.number, str(ref.account_type))


def _normalise_key(key: str) -> str:
    # DICT stores e-mail keys in lowercase; every other key type is case-free or already canonical.
    return key.strip().lower() if "@" in key else key.strip()


def _own_ispb() -> str:
    return str(settings.OPUSOF_ISPB)


class SandboxBank:
    """Implements ValidatePaymentData, DiscoverAccounts, InitiatePayment, GetPaymentStatus, CancelPayment and
    ListBankPayments."""

    LISTING_PAGE = 1000

    # --- the connector contract -------------------------------------------------------------------------------

    def validate_payment_data(self, data: PaymentData) -> ValidationResult:
        """Every rule the payment breaks, one issue per OFB code; the domain picks by the spec's priority table."""
        debtor = self._find_account(data.debtor_account)
        self._behave(debtor)
        return ValidationResult(tuple(ValidationIssue(code, detail) for code, detail in self._issues(data, debtor)))

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
        accounts = SandboxAccount.objects.filter(owner_filter, ispb=_own_ispb()).select_related("owner")
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
        debtor = self._find_account(data.debtor_account)
        self._behave(debtor)
        with transaction.atomic():
            existing = SandboxPayment.objects.filter(idempotency_key=initiation.idempotency_key).first()
            if existing is not None:
                return self._result(existing)
            if debtor is None:
                raise ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA", "Conta de origem não encontrada.")
            payment, created = self._claim(initiation, debtor)
            if not created:
                return self._result(payment)
            # Checked only once the key is ours: a concurrent twin that already paid must not turn our answer
            # into SALDO_INSUFICIENTE; we answer with its result instead.
            issues = dict(self._issues(data, debtor))
            for code, raised in _INITIATION_REFUSALS:
                if code in issues:
                    raise ConnectorRejected(raised, issues[code])
            self._decide(payment, data, debtor)
            payment.save()
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
        settle move money together (``_settle``). An unknown payment or an offline debtor is that payment's answer
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
            self._advance(live, force=False)
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
                self._advance(payments, force=True)
            settled.update((payment.payment_id, self._result(payment)) for payment in payments)
            if len(payments) < SETTLE_BATCH_SIZE:
                return settled
            last_pk = payments[-1].pk

    def force_settle(self, payment_id: str) -> PaymentStatusResult:
        """Settles a PDNG or SCHD payment now, whatever its date or delay (tests)."""
        with transaction.atomic():
            payment = SandboxPayment.objects.select_for_update().get(payment_id=payment_id)
            self._advance([payment], force=True)
            return self._result(payment)

    def lookup_pix_key(self, key: str) -> PixKeyEntry | None:
        """The DICT entry of ``key`` (CPF, CNPJ, +55 phone, e-mail or EVP), or None."""
        entry = self._find_key(key)
        if entry is None:
            return None
        owner = entry.account.owner
        return PixKeyEntry(entry.key, entry.key_type, entry.account.ref, owner.name, owner.document)

    def authenticate(self, document: str, password: str) -> SandboxCustomer | None:
        """The individual customer with this CPF and password (consent pages log in with it), or None."""
        customer = SandboxCustomer.objects.filter(document=document, kind=SandboxCustomer.Kind.INDIVIDUAL).first()
        return customer if customer is not None and customer.check_password(password) else None

    def issue_static_qr(
        self, *, key: str, txid: str, amount: Decimal | None = None, city: str = "SAO PAULO"
    ) -> SandboxQrCode:
        """Issues a reusable static BR Code for one of this directory's keys."""
        pix_key = SandboxPixKey.objects.select_related("account__owner").get(key=_normalise_key(key))
        payload = build_static(pix_key.key, amount, pix_key.account.owner.name[:25], city, txid=txid)
        return SandboxQrCode.objects.create(
            txid=txid,
            kind=SandboxQrCode.Kind.STATIC,
            payload=payload,
            amount=amount,
            pix_key=pix_key,
            creditor_account=pix_key.account,
        )

    def issue_dynamic_qr(
        self,
        *,
        key: str,
        amount: Decimal,
        txid: str | None = None,
        expires_in: dt.timedelta = dt.timedelta(hours=1),
        city: str = "SAO PAULO",
        location: str | None = None,
    ) -> SandboxQrCode:
        """Issues a single-use dynamic BR Code; its location serves :meth:`dynamic_qr_payload`."""
        pix_key = SandboxPixKey.objects.select_related("account__owner").get(key=_normalise_key(key))
        host = urlsplit(settings.OPUSOF_BASE_URL).netloc
        location = location or f"{host}/sandbox/qr/{uuid.uuid4().hex}"
        now = timezone.now()
        return SandboxQrCode.objects.create(
            txid=txid or uuid.uuid4().hex,  # 32 letters and digits: inside the QRDN 26..35 range
            kind=SandboxQrCode.Kind.DYNAMIC,
            payload=build_dynamic(location, pix_key.account.owner.name[:25], city),
            amount=amount,
            pix_key=pix_key,
            creditor_account=pix_key.account,
            location=location,
            created_at=now,
            expires_at=now + expires_in,
        )

    def dynamic_qr_payload(self, url: str) -> dict[str, Any] | None:
        """What the dynamic QR's location serves (the BCB API Pix ``cob`` JSON, unsigned), or None when unknown."""
        location = url.split("://", 1)[-1]
        qr = SandboxQrCode.objects.filter(location=location).select_related("pix_key").first()
        if qr is None:
            return None
        expiry = int((qr.expires_at - qr.created_at).total_seconds()) if qr.expires_at else 86_400
        return {
            "revisao": 0,
            "calendario": {
                "criacao": rfc3339(qr.created_at),
                "apresentacao": rfc3339(timezone.now()),
                "expiracao": expiry,
            },
            "txid": qr.txid,
            "valor": {"original": f"{qr.amount:.2f}"}
            if qr.amount is not None
            else {"original": "0.00", "modalidadeAlteracao": 1},
            "chave": qr.pix_key.key,
            "status": "ATIVA" if qr.status == SandboxQrCode.Status.ACTIVE else "CONCLUIDA",
        }

    # --- rules --------------------------------------------------------------------------------------------------

    def _issues(self, data: PaymentData, debtor: SandboxAccount | None) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        debtor_problem = self._debtor_problem(data, debtor) if data.debtor_account is not None else None
        if debtor_problem:
            found["CONTA_NAO_PERMITE_PAGAMENTO"] = debtor_problem
        if data.debtor_account is not None and _account_key(data.debtor_account) == _account_key(data.creditor_account):
            found["CONTAS_ORIGEM_DESTINO_IGUAIS"] = "A conta de origem é a mesma conta de destino."
        if scenarios.scenarios_enabled() and scenarios.is_consent_rejection_scenario(data.amount):
            found["NAO_INFORMADO"] = "Cenário de teste: pagamento recusado pela detentora na criação do consentimento."
        for code, detail in self._qr_problems(data):
            found.setdefault(code, detail)
        if dict_problem := self._dict_problem(data):
            found["DETALHE_PAGAMENTO_INVALIDO"] = dict_problem
        if debtor is not None and not debtor_problem:
            if limit_problem := self._limit_problem(data, debtor):
                found["VALOR_ACIMA_LIMITE"] = limit_problem
            # Payments v4 §5.1.6/§4.1.1: a scheduled payment's balance is checked only when it settles.
            if self._is_immediate(data) and (
                debtor.behaviour == Behaviour.INSUFFICIENT_FUNDS or debtor.balance < data.amount
            ):
                found["SALDO_INSUFICIENTE"] = INSUFFICIENT_FUNDS_DETAIL
        return list(found.items())

    def _debtor_problem(self, data: PaymentData, debtor: SandboxAccount | None) -> str | None:
        if debtor is None or debtor.ispb != _own_ispb():
            return "Conta de origem não encontrada nesta instituição."
        if not debtor.may_pay:
            return "A conta de origem não permite pagamentos."
        owner = debtor.owner
        if data.business_document:
            owns = (
                owner.document == data.business_document
                and owner.authorised_people.filter(document=data.customer_document).exists()
            )
        else:
            owns = owner.document == data.customer_document
        return None if owns else "A conta de origem não pertence ao cliente."

    def _limit_problem(self, data: PaymentData, debtor: SandboxAccount) -> str | None:
        owner = debtor.owner
        if debtor.behaviour == Behaviour.LIMIT_EXCEEDED:
            return "Acima do limite estabelecido para a conta."
        if data.amount > owner.transaction_limit:
            return f"Acima do limite por transação de R$ {owner.transaction_limit:.2f}."
        if self._is_immediate(data):
            start = dt.datetime.combine(business_date(), dt.time.min, tzinfo=business_tz())
            used = SandboxPayment.objects.filter(
                debtor_account__owner=owner, created_at__gte=start, scheduled_date=None, status__in=_COMMITTED
            ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
            if used + data.amount > owner.daily_limit:
                return f"Acima do limite diário de R$ {owner.daily_limit:.2f}."
        return None

    def _qr_problems(self, data: PaymentData) -> list[tuple[str, str]]:
        if not data.qr_code:
            return []
        try:
            code = parse_brcode(data.qr_code)
        except BrCodeError as exc:
            return [("QRCODE_INVALIDO", f"QR Code inválido: {exc}.")]
        if not code.is_dynamic:
            if data.local_instrument == "QRDN":
                return [("QRCODE_INVALIDO", "localInstrument QRDN exige um QR Code dinâmico.")]
            key_differs = code.key != data.proxy
            amount_differs = code.amount is not None and code.amount != data.amount
            problems = []
            if key_differs or amount_differs:
                problems.append(("QRCODE_INVALIDO", "Chave ou valor do pagamento divergem do QR Code."))
            if amount_differs and not key_differs:
                problems.append(("VALOR_INVALIDO", "O valor enviado não é válido para o QR Code informado."))
            return problems
        if data.local_instrument == "QRES":
            return [("QRCODE_INVALIDO", "localInstrument QRES exige um QR Code estático.")]
        qr = self._dynamic_qr(code.url)
        if qr is None:
            return [("COBRANCA_INVALIDA", "Cobrança não encontrada.")]
        problems = []
        if qr.status == SandboxQrCode.Status.USED:
            problems.append(("COBRANCA_INVALIDA", "Cobrança já paga."))
        elif qr.expires_at is not None and qr.expires_at <= timezone.now():
            problems.append(("COBRANCA_INVALIDA", "Cobrança expirada."))
        if qr.amount is not None and qr.amount != data.amount:
            problems.append(("VALOR_INVALIDO", "O valor enviado não é válido para o QR Code informado."))
        if data.proxy and data.proxy != qr.pix_key.key:
            problems.append(("QRCODE_INVALIDO", "proxy diverge da chave da cobrança."))
        return problems

    def _dict_problem(self, data: PaymentData) -> str | None:
        if data.proxy:
            if scenarios.scenarios_enabled() and _normalise_key(data.proxy) == scenarios.FAKE_PROXY:
                return "proxy: chave Pix não encontrada no DICT."
            entry = self._find_key(data.proxy)
            if entry is None:
                return "proxy: chave Pix não encontrada no DICT."
            if _account_key(entry.account.ref) != _account_key(data.creditor_account):
                return "creditorAccount: não é a conta da chave Pix informada."
            if entry.account.owner.document != data.creditor_document:
                return "creditor.cpfCnpj: não é o titular da chave Pix informada."
            return None
        if data.creditor_account.ispb != _own_ispb():
            return None  # another institution's account is checked by the SPI, not by us
        creditor = self._find_account(data.creditor_account)
        if creditor is None:
            return "creditorAccount: conta inexistente nesta instituição."
        if creditor.owner.document != data.creditor_document:
            return "creditor.cpfCnpj: não é o titular da conta de destino."
        return None

    @staticmethod
    def _is_immediate(data: PaymentData) -> bool:
        return data.payment_date is None or data.payment_date <= business_date()

    # --- money ---------------------------------------------------------------------------------------------------

    def _claim(self, initiation: PaymentInitiation, debtor: SandboxAccount) -> tuple[SandboxPayment, bool]:
        """Inserts the payment row (True), or returns the row a concurrent call with the same key committed
        first (False)."""
        data = initiation.data
        creditor = self._find_account(data.creditor_account)
        try:
            with transaction.atomic():
                payment = SandboxPayment.objects.create(
                    payment_id=initiation.payment_id,
                    end_to_end_id=initiation.end_to_end_id,
                    idempotency_key=initiation.idempotency_key,
                    amount=data.amount,
                    debtor_account=debtor,
                    creditor_ispb=data.creditor_account.ispb,
                    creditor_issuer=data.creditor_account.issuer or "",
                    creditor_number=data.creditor_account.number,
                    creditor_account_type=str(data.creditor_account.account_type),
                    creditor_account=creditor if creditor is not None and creditor.ispb == _own_ispb() else None,
                    local_instrument=data.local_instrument,
                    proxy=data.proxy or "",
                    status=Status.PDNG,  # placeholder, never committed: _decide sets the real one
                    scheduled_date=None if self._is_immediate(data) else data.payment_date,
                )
            return payment, True
        except IntegrityError:
            # The unique index made us wait for the other transaction; it committed, so its row is the answer.
            existing = SandboxPayment.objects.filter(idempotency_key=initiation.idempotency_key).first()
            if existing is None:
                raise ConnectorRejected(
                    "PAGAMENTO_RECUSADO_DETENTORA", f"paymentId {initiation.payment_id} já recebido com outra chave."
                ) from None
            return existing, False

    def _decide(self, payment: SandboxPayment, data: PaymentData, debtor: SandboxAccount) -> None:
        use_scenarios = scenarios.scenarios_enabled()
        amount = data.amount
        if use_scenarios and scenarios.is_payment_rejection_scenario(amount):
            raise ConnectorRejected("PAGAMENTO_RECUSADO_DETENTORA", "Cenário de teste: pagamento recusado.")
        if data.qr_code:
            self._use_dynamic_qr(payment, data.qr_code)
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
            payment.status = Status.PDNG
            payment.settle_after = timezone.now() + dt.timedelta(seconds=debtor.settle_delay_seconds)
        else:
            self._settle([payment])
            if payment.status != Status.ACSC:
                # Checked before without a lock; a concurrent debit may have spent the money since.
                raise ConnectorRejected("SALDO_INSUFICIENTE", INSUFFICIENT_FUNDS_DETAIL)

    def _use_dynamic_qr(self, payment: SandboxPayment, qr_code: str) -> None:
        code = parse_brcode(qr_code)
        qr = self._dynamic_qr(code.url) if code.is_dynamic else None
        if qr is None:
            return
        # A conditional UPDATE: of two payments racing for one charge, the second finds it no longer ACTIVE.
        if not SandboxQrCode.objects.filter(pk=qr.pk, status=SandboxQrCode.Status.ACTIVE).update(
            status=SandboxQrCode.Status.USED
        ):
            raise ConnectorRejected("COBRANCA_INVALIDA", "Cobrança já paga.")
        payment.qr_code = qr

    def _advance(self, payments: list[SandboxPayment], *, force: bool) -> None:
        """Moves held payments on when their time has come (or now, with ``force``); saves the ones that moved."""
        now = timezone.now()
        today = business_date()
        cancelled, due = [], []
        for payment in payments:
            if payment.status == Status.PDNG:
                if not force and payment.settle_after is not None and payment.settle_after > now:
                    continue
            elif payment.status == Status.SCHD:
                if scenarios.scenarios_enabled() and payment.amount == scenarios.HOLDER_CANCELS_SCHEDULED:
                    payment.status = Status.CANC
                    payment.cancelled_at = now
                    cancelled.append(payment)
                    continue
                if not force and payment.scheduled_date is not None and payment.scheduled_date > today:
                    continue
            else:
                continue
            due.append(payment)
        self._settle(due)
        update_rows(cancelled + due, ["status", "settled_at", "rejection_code", "rejection_detail", "cancelled_at"])

    def _settle(self, payments: list[SandboxPayment]) -> None:
        """Settles each payment (ACSC: debits the debtor, credits an in-house creditor) or refuses it for want of
        funds at this moment (RJCT SALDO_INSUFICIENTE, payments v4 §5.1.6), in the order given. All their accounts
        are locked at once, in primary-key order so two crossing batches or transfers never deadlock; the ledger
        rows and the new balances are written once for the whole batch. The caller saves the payments."""
        if not payments:
            return
        ids = {p.debtor_account_id for p in payments} | {p.creditor_account_id for p in payments} - {None}
        accounts = {a.pk: a for a in SandboxAccount.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
        moved: dict[int, SandboxAccount] = {}
        entries = []
        now = timezone.now()
        for payment in payments:
            debtor = accounts[payment.debtor_account_id]
            if debtor.behaviour == Behaviour.INSUFFICIENT_FUNDS or debtor.balance < payment.amount:
                payment.status = Status.RJCT
                payment.rejection_code = "SALDO_INSUFICIENTE"
                payment.rejection_detail = INSUFFICIENT_FUNDS_DETAIL
                continue
            movements = [(debtor, SandboxLedgerEntry.Direction.DEBIT, -payment.amount)]
            if payment.creditor_account_id is not None:
                movements.append(
                    (accounts[payment.creditor_account_id], SandboxLedgerEntry.Direction.CREDIT, payment.amount)
                )
            for account, direction, delta in movements:
                account.balance += delta
                moved[account.pk] = account
                entries.append(
                    SandboxLedgerEntry(
                        account=account,
                        payment=payment,
                        direction=direction,
                        amount=payment.amount,
                        balance_after=account.balance,
                    )
                )
            payment.status = Status.ACSC
            payment.settled_at = now
        SandboxLedgerEntry.objects.bulk_create(entries)
        update_rows(list(moved.values()), ["balance"])

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
    def _find_account(ref: AccountRef | None) -> SandboxAccount | None:
        if ref is None:
            return None
        ispb, issuer, number, account_type = _account_key(ref)
        return (
            SandboxAccount.objects.select_related("owner")
            .filter(ispb=ispb, issuer=issuer, number=number, account_type=account_type)
            .first()
        )

    @staticmethod
    def _find_key(key: str) -> SandboxPixKey | None:
        return SandboxPixKey.objects.select_related("account__owner").filter(key=_normalise_key(key)).first()

    @staticmethod
    def _dynamic_qr(url: str | None) -> SandboxQrCode | None:
        return (
            SandboxQrCode.objects.select_related("pix_key")
            .filter(location=url, kind=SandboxQrCode.Kind.DYNAMIC)
            .first()
        )

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
