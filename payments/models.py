"""Pix payments (payments v4 §1.5): one row per payment, immediate or one occurrence of a schedule."""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from django.db import models
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from connectors.interfaces import AccountRef, BankPaymentStatus, PaymentStatusResult
from consents.models import LocalInstrument, PaymentConsent
from opusof.models import AuditedStatus, StatusChange, TppClient
from opusof.ofb import account_ref
from opusof.outbox.models import EventKind


def new_payment_id() -> str:
    return str(uuid.uuid4())


class PaymentStatus(models.TextChoices):
    RCVD = "RCVD"
    PDNG = "PDNG"
    SCHD = "SCHD"
    ACCP = "ACCP"
    ACPD = "ACPD"
    ACSC = "ACSC"
    RJCT = "RJCT"
    CANC = "CANC"


class PaymentRejectionReason(models.TextChoices):
    SALDO_INSUFICIENTE = "SALDO_INSUFICIENTE"
    VALOR_ACIMA_LIMITE = "VALOR_ACIMA_LIMITE"
    VALOR_INVALIDO = "VALOR_INVALIDO"
    COBRANCA_INVALIDA = "COBRANCA_INVALIDA"
    NAO_INFORMADO = "NAO_INFORMADO"
    PAGAMENTO_DIVERGENTE_CONSENTIMENTO = "PAGAMENTO_DIVERGENTE_CONSENTIMENTO"
    DETALHE_PAGAMENTO_INVALIDO = "DETALHE_PAGAMENTO_INVALIDO"
    PAGAMENTO_RECUSADO_DETENTORA = "PAGAMENTO_RECUSADO_DETENTORA"
    PAGAMENTO_RECUSADO_SPI = "PAGAMENTO_RECUSADO_SPI"
    FALHA_INFRAESTRUTURA = "FALHA_INFRAESTRUTURA"
    FALHA_INFRAESTRUTURA_SPI = "FALHA_INFRAESTRUTURA_SPI"
    FALHA_INFRAESTRUTURA_DICT = "FALHA_INFRAESTRUTURA_DICT"
    FALHA_INFRAESTRUTURA_ICP = "FALHA_INFRAESTRUTURA_ICP"
    FALHA_INFRAESTRUTURA_PSP_RECEBEDOR = "FALHA_INFRAESTRUTURA_PSP_RECEBEDOR"
    FALHA_INFRAESTRUTURA_DETENTORA = "FALHA_INFRAESTRUTURA_DETENTORA"
    CONTAS_ORIGEM_DESTINO_IGUAIS = "CONTAS_ORIGEM_DESTINO_IGUAIS"
    FALHA_AGENDAMENTO_PAGAMENTOS = "FALHA_AGENDAMENTO_PAGAMENTOS"


class CancellationReason(models.TextChoices):
    CANCELADO_PENDENCIA = "CANCELADO_PENDENCIA"
    CANCELADO_AGENDAMENTO = "CANCELADO_AGENDAMENTO"
    CANCELADO_MULTIPLAS_ALCADAS = "CANCELADO_MULTIPLAS_ALCADAS"


class CancelledFrom(models.TextChoices):
    INICIADORA = "INICIADORA"
    DETENTORA = "DETENTORA"


class AuthorisationFlow(models.TextChoices):
    HYBRID_FLOW = "HYBRID_FLOW"
    CIBA_FLOW = "CIBA_FLOW"
    FIDO_FLOW = "FIDO_FLOW"


FINAL_PAYMENT_STATUSES = (PaymentStatus.ACSC, PaymentStatus.RJCT, PaymentStatus.CANC)
CANCELLABLE_STATUSES = (PaymentStatus.SCHD, PaymentStatus.PDNG)
_OPEN = [PaymentStatus.RCVD, PaymentStatus.PDNG, PaymentStatus.SCHD, PaymentStatus.ACCP, PaymentStatus.ACPD]
# What the bank may report for a payment we rejected for our own infrastructure's sake (follow_bank).
_BANK_OVERRIDES = [*_OPEN[1:], PaymentStatus.ACSC, PaymentStatus.CANC]


def _rejected_by_our_infrastructure(payment: models.Model) -> bool:
    """Only our own rejection for want of the bank (FALHA_INFRAESTRUTURA_DETENTORA) is a guess the bank's books may
    overrule; a refusal the bank itself reported stays."""
    return bool(getattr(payment, "rejection_reason", "") == "FALHA_INFRAESTRUTURA_DETENTORA")


class PixPaymentQuerySet(models.QuerySet[Any]):
    def visible(self) -> "PixPaymentQuerySet":
        """What the TPP and the customer may see: not the rows of payments the bank refused at creation."""
        return self.filter(refused_at_creation=False)


class PixPaymentBase(AuditedStatus, FSMModelMixin, models.Model):
    """A Pix payment as payments v4 and automatic payments v2 both define it: one status table (payments v4 §1.5,
    reused by automatic payments v2), the accounts and the pure transitions. Subclasses add their ids, consent and
    enums: ``rejection_reasons`` is the enum of their ``rejection_reason`` (and AuditedStatus's names)."""

    rejection_reasons: ClassVar[type[models.TextChoices]]
    consent: Any  # the subclass's consent; both kinds carry ``logged_user_document``

    status = FSMField(max_length=4, choices=PaymentStatus.choices, default=PaymentStatus.RCVD, protected=True)
    created_at = models.DateTimeField()
    status_updated_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=19, decimal_places=2)
    currency = models.CharField(max_length=3, default="BRL")
    creditor_ispb = models.CharField(max_length=8)
    creditor_issuer = models.CharField(max_length=4, blank=True)
    creditor_number = models.CharField(max_length=20)
    creditor_account_type = models.CharField(max_length=4)
    debtor_ispb = models.CharField(max_length=8)
    debtor_issuer = models.CharField(max_length=4, blank=True)
    debtor_number = models.CharField(max_length=20)
    debtor_account_type = models.CharField(max_length=4)
    proxy = models.CharField(max_length=77, blank=True)
    remittance_information = models.CharField(max_length=140, blank=True)
    transaction_identification = models.CharField(max_length=35, blank=True)
    ibge_town_code = models.CharField(max_length=7, blank=True)
    rejection_detail = models.CharField(max_length=2048, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    # Record before effect (docs/money-safety.md). The x-idempotency-key of the POST that created the row: its retry
    # resumes this payment instead of making another. When it was handed to the bank: from then on only the bank can
    # tell its outcome (payments.lifecycle asks it). A synchronous refusal (§2.2.2: "o pagamento não é criado") keeps
    # its row for staff and reconciliation, hidden from the TPP. A cancellation asked of the bank, recorded before the
    # bank is called: who asked, applied when the bank confirms (at once, or by the poll after a crash).
    request_key = models.CharField(max_length=40, blank=True)
    bank_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    refused_at_creation = models.BooleanField(default=False)
    cancel_request = models.JSONField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    needs_attention = models.BooleanField(
        default=False,
        db_index=True,
        help_text="Moved out of RJCT to what the bank reports (follow_bank): the TPP was told RJCT; staff review it.",
    )

    objects = PixPaymentQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def announces_changes(self) -> bool:
        """Whether its status changes are announced to the TPP (webhooks): not for a payment it was never shown."""
        return not self.refused_at_creation

    @staticmethod
    def request_columns(item: dict[str, Any], *, debtor: AccountRef) -> dict[str, Any]:
        """The columns a payment request item fills (payments v4 and automatic payments v2 name them alike), with
        the debtor account its consent holds."""
        creditor = item["creditorAccount"]
        return {
            "end_to_end_id": item["endToEndId"],
            "local_instrument": item["localInstrument"],
            "currency": item["payment"]["currency"],
            "creditor_ispb": creditor["ispb"],
            "creditor_issuer": creditor.get("issuer", ""),
            "creditor_number": creditor["number"],
            "creditor_account_type": creditor["accountType"],
            "debtor_ispb": debtor.ispb,
            "debtor_issuer": debtor.issuer or "",
            "debtor_number": debtor.number,
            "debtor_account_type": str(debtor.account_type),
            "proxy": item.get("proxy", ""),
            "remittance_information": item.get("remittanceInformation", ""),
            "cnpj_initiator": item["cnpjInitiator"],
            "transaction_identification": item.get("transactionIdentification", ""),
            "ibge_town_code": item.get("ibgeTownCode", ""),
            "authorisation_flow": item.get("authorisationFlow", ""),
        }

    @property
    def creditor_account(self) -> AccountRef:
        return account_ref(self.creditor_ispb, self.creditor_issuer, self.creditor_number, self.creditor_account_type)

    @property
    def debtor_account(self) -> AccountRef:
        return account_ref(self.debtor_ispb, self.debtor_issuer, self.debtor_number, self.debtor_account_type)

    # Pure transitions (payments v4 §1.5 status table); the service records history and timestamps.
    @transition(field="status", source=[PaymentStatus.RCVD, PaymentStatus.SCHD], target=PaymentStatus.PDNG)
    def hold(self) -> None:
        pass

    # From PDNG too: a scheduled payment held while its initiation's outcome was unknown (or retained for analysis,
    # §1.5 "reteve temporariamente") is found scheduled by the status poll.
    @transition(field="status", source=[PaymentStatus.RCVD, PaymentStatus.PDNG], target=PaymentStatus.SCHD)
    def schedule(self) -> None:
        pass

    @transition(
        field="status",
        source=[PaymentStatus.RCVD, PaymentStatus.PDNG, PaymentStatus.SCHD],
        target=PaymentStatus.ACCP,
    )
    def accept(self) -> None:
        pass

    @transition(
        field="status",
        source=[PaymentStatus.RCVD, PaymentStatus.PDNG, PaymentStatus.SCHD, PaymentStatus.ACCP],
        target=PaymentStatus.ACPD,
    )
    def send_to_settlement(self) -> None:
        pass

    @transition(field="status", source=_OPEN, target=PaymentStatus.ACSC)
    def settle(self) -> None:
        pass

    @transition(field="status", source=_OPEN, target=PaymentStatus.RJCT)
    def reject(self, *, reason: str, detail: str) -> None:
        self.rejection_reason = reason
        self.rejection_detail = detail

    @transition(field="status", source=list(CANCELLABLE_STATUSES), target=PaymentStatus.CANC)
    def cancel(self, *, reason: str, cancelled_from: str, document: str, rel: str, at: dt.datetime) -> None:
        self.cancellation_reason = reason
        self.cancelled_from = cancelled_from
        self.cancelled_by_document = document
        self.cancelled_by_rel = rel
        self.cancelled_at = at

    @transition(
        field="status",
        source=PaymentStatus.RJCT,
        target=RETURN_VALUE(*_BANK_OVERRIDES),
        conditions=[_rejected_by_our_infrastructure],
    )
    def follow_bank(self, *, status: str, now: dt.datetime) -> str:
        """RJCT FALHA_INFRAESTRUTURA_DETENTORA → what the bank reports: our rejection was a guess made while the
        bank could not be heard, and the bank's books decide whether money moved. Flagged for staff."""
        self.rejection_reason = ""
        self.rejection_detail = ""
        self.needs_attention = True
        if status == PaymentStatus.CANC:
            self.cancellation_reason = "CANCELADO_PENDENCIA"
            self.cancelled_from = "DETENTORA"
            self.cancelled_by_document = self.consent.logged_user_document
            self.cancelled_by_rel = "CPF"
            self.cancelled_at = now
        return status

    def rejection_reason_for(self, code: str) -> str:
        """A bank refusal code as a rejection reason; one the enum lacks is PAGAMENTO_RECUSADO_DETENTORA."""
        return code if code in self.rejection_reasons.values else "PAGAMENTO_RECUSADO_DETENTORA"

    def bank_status_transition(self, result: PaymentStatusResult, *, now: dt.datetime) -> Callable[[], None] | None:
        """The transition to what the bank reports (None when it reports the status we have). A reason outside
        the subclass's enum is PAGAMENTO_RECUSADO_DETENTORA; a cancellation by the bank is on the customer's
        behalf (the consent is read only then: the due sweep's batches do not need it)."""
        if result.status == self.status:
            return None
        if result.bank_reference:
            self.bank_reference = result.bank_reference
        if self.status == PaymentStatus.RJCT:
            return lambda: self.follow_bank(status=str(result.status), now=now)
        if result.status == BankPaymentStatus.RJCT:
            reason = self.rejection_reason_for(result.rejection_code or "")
            detail = result.rejection_detail or "Pagamento recusado pela detentora."
            return lambda: self.reject(reason=reason, detail=detail)
        if result.status == BankPaymentStatus.CANC:
            cancellation = "CANCELADO_AGENDAMENTO" if self.status == PaymentStatus.SCHD else "CANCELADO_PENDENCIA"
            # A cancellation we asked for (recorded before the bank was called) is the requester's.
            asked = self.cancel_request or {}
            return lambda: self.cancel(
                reason=cancellation,
                cancelled_from=asked.get("from", "DETENTORA"),
                document=asked.get("document", self.consent.logged_user_document),
                rel=asked.get("rel", "CPF"),
                at=now,
            )
        moves: dict[str, Callable[[], None]] = {
            BankPaymentStatus.ACSC: self.settle,
            BankPaymentStatus.ACCP: self.accept,
            BankPaymentStatus.ACPD: self.send_to_settlement,
            BankPaymentStatus.PDNG: self.hold,
            BankPaymentStatus.SCHD: self.schedule,
        }
        return moves[result.status]


class PixPayment(PixPaymentBase):
    rejection_reasons = PaymentRejectionReason
    event_kind = EventKind.PIX_PAYMENT

    payment_id = models.CharField(max_length=100, unique=True, default=new_payment_id, editable=False)
    consent = models.ForeignKey(PaymentConsent, on_delete=models.PROTECT, related_name="payments")
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="pix_payments")
    # Payments created by one POST share a batch: a failed schedule rejects all of them (payments v4 §Validações).
    batch_id = models.UUIDField(db_index=True)
    end_to_end_id = models.CharField(max_length=32, unique=True)
    scheduled_date = models.DateField(null=True, blank=True, db_index=True)

    local_instrument = models.CharField(max_length=4, choices=LocalInstrument.choices)
    qr_code = models.CharField(max_length=512, blank=True)
    cnpj_initiator = models.CharField(max_length=14, db_index=True)
    authorisation_flow = models.CharField(max_length=16, choices=AuthorisationFlow.choices, blank=True)

    rejection_reason = models.CharField(max_length=40, choices=PaymentRejectionReason.choices, blank=True)
    cancellation_reason = models.CharField(max_length=32, choices=CancellationReason.choices, blank=True)
    cancelled_from = models.CharField(max_length=16, choices=CancelledFrom.choices, blank=True)
    cancelled_by_document = models.CharField(max_length=11, blank=True)
    cancelled_by_rel = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["-created_at", "scheduled_date"]
        indexes = [models.Index(fields=["status", "scheduled_date"])]

    def __str__(self) -> str:
        return self.payment_id

    @property
    def resource_id(self) -> str:
        return self.payment_id


class PaymentStatusChange(StatusChange):
    payment = models.ForeignKey(PixPayment, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        pass


class PaymentPollState(models.Model):
    """Status polling schedule of a payment the bank left open (ACCP/ACPD/PDNG, or SCHD on its date): exponential
    backoff between polls, and a ceiling after which the payment is flagged for staff ("needs attention" in the
    admin). Of a payments v4 payment or of an automatic payments v2 one: exactly one of the two is set."""

    payment = models.OneToOneField(
        PixPayment, on_delete=models.CASCADE, related_name="poll_state", null=True, blank=True
    )
    recurring_payment = models.OneToOneField(
        "recurring.RecurringPayment", on_delete=models.CASCADE, related_name="poll_state", null=True, blank=True
    )
    attempts = models.PositiveIntegerField(default=0, help_text="polls since the last status change")
    next_poll_at = models.DateTimeField(db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1024, blank=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    flagged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "payment status poll"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payment__isnull=False) ^ models.Q(recurring_payment__isnull=False),
                name="poll_state_of_one_payment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.polled} poll #{self.attempts}"

    @property
    def polled(self) -> Any:
        """The payment polled, of either kind."""
        return self.payment or self.recurring_payment


# The payments app's reconciliation table, kept in its own module.
from payments.discrepancies import BankDiscrepancy  # noqa: E402, F401
