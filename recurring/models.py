"""Recurring consents and recurring Pix payments (automatic payments v2: Pix Automático and sweeping).

``request_data`` keeps the TPP's ``data`` claim, ``configuration`` the current ``recurringConfiguration`` (an edit
via PATCH changes it), so GET echoes what was agreed. Limits are read from ``configuration`` (recurring.limits).
"""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from opusof.accounts import DebtorAccount
from opusof.models import AuditedStatus, StatusChange, TppClient
from opusof.outbox.models import EventKind
from payments.models import PaymentStatus, PixPaymentBase


def new_recurring_consent_id() -> str:
    return f"urn:opusof:{uuid.uuid4()}"


def new_recurring_payment_id() -> str:
    return str(uuid.uuid4())


class RecurringConsentStatus(models.TextChoices):
    """EnumAuthorisationStatusType (automatic payments v2)."""

    AWAITING_AUTHORISATION = "AWAITING_AUTHORISATION"
    PARTIALLY_ACCEPTED = "PARTIALLY_ACCEPTED"
    AUTHORISED = "AUTHORISED"
    REJECTED = "REJECTED"
    REVOKED = "REVOKED"
    CONSUMED = "CONSUMED"


class Product(models.TextChoices):
    """The oneOf branch of ``recurringConfiguration``."""

    AUTOMATIC = "automatic"
    SWEEPING = "sweeping"
    VRP = "vrp"


class Actor(models.TextChoices):
    """rejectedBy / revokedBy."""

    INICIADORA = "INICIADORA"
    USUARIO = "USUARIO"
    DETENTORA = "DETENTORA"


class Channel(models.TextChoices):
    """rejectedFrom / revokedFrom / cancelledFrom."""

    INICIADORA = "INICIADORA"
    DETENTORA = "DETENTORA"


class ConsentRejectionCode(models.TextChoices):
    """ConsentRejectionReason.code."""

    NAO_INFORMADO = "NAO_INFORMADO"
    FALHA_INFRAESTRUTURA = "FALHA_INFRAESTRUTURA"
    TEMPO_EXPIRADO_AUTORIZACAO = "TEMPO_EXPIRADO_AUTORIZACAO"
    REJEITADO_USUARIO = "REJEITADO_USUARIO"
    CONTAS_ORIGEM_DESTINO_IGUAIS = "CONTAS_ORIGEM_DESTINO_IGUAIS"
    CONTA_NAO_PERMITE_PAGAMENTO = "CONTA_NAO_PERMITE_PAGAMENTO"
    SALDO_INSUFICIENTE = "SALDO_INSUFICIENTE"
    VALOR_ACIMA_LIMITE = "VALOR_ACIMA_LIMITE"
    AUTENTICACAO_DIVERGENTE = "AUTENTICACAO_DIVERGENTE"


class ConsentRevocationCode(models.TextChoices):
    """ConsentRevokedReason.code."""

    REVOGADO_RECEBEDOR = "REVOGADO_RECEBEDOR"
    REVOGADO_USUARIO = "REVOGADO_USUARIO"
    NAO_INFORMADO = "NAO_INFORMADO"


class RecurringConsent(AuditedStatus, DebtorAccount, FSMModelMixin, models.Model):
    event_kind = EventKind.RECURRING_CONSENT

    recurring_consent_id = models.CharField(
        max_length=256, unique=True, default=new_recurring_consent_id, editable=False
    )
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="recurring_consents")
    status = FSMField(
        max_length=32,
        choices=RecurringConsentStatus.choices,
        default=RecurringConsentStatus.AWAITING_AUTHORISATION,
        protected=True,
    )
    product = models.CharField(max_length=16, choices=Product.choices)
    created_at = models.DateTimeField()
    status_updated_at = models.DateTimeField()
    authorised_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)  # last edition (PATCH edit)
    # Deadline to authorise while AWAITING_AUTHORISATION / PARTIALLY_ACCEPTED.
    authorisation_deadline = models.DateTimeField(db_index=True)
    # expirationDateTime; null = indefinite (the spec allows omitting it).
    expires_at = models.DateTimeField(null=True, blank=True)
    approval_due_date = models.DateField(null=True, blank=True)
    pending_approvals = models.PositiveSmallIntegerField(default=0)
    # More than one approver (alçadas): an edition needs full power over the consent (PERMISSAO_INSUFICIENTE).
    approvals_required = models.PositiveSmallIntegerField(default=1)

    logged_user_document = models.CharField(max_length=11, db_index=True)
    business_entity_document = models.CharField(max_length=14, blank=True, db_index=True)
    creditors = models.JSONField()
    configuration = models.JSONField()

    rejected_by = models.CharField(max_length=16, choices=Actor.choices, blank=True)
    rejected_from = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_code = models.CharField(max_length=40, choices=ConsentRejectionCode.choices, blank=True)
    rejection_detail = models.CharField(max_length=2048, blank=True)
    revoked_by = models.CharField(max_length=16, choices=Actor.choices, blank=True)
    revoked_from = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_code = models.CharField(max_length=40, choices=ConsentRevocationCode.choices, blank=True)
    revocation_detail = models.CharField(max_length=2048, blank=True)
    request_data = models.JSONField()

    class Meta:
        ordering = ["-created_at"]
        # The expiry sweep's two queries: authorisation windows, and expirations of authorised consents.
        indexes = [
            models.Index(fields=["status", "authorisation_deadline"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return self.recurring_consent_id

    @property
    def resource_id(self) -> str:
        return self.recurring_consent_id

    @property
    def settings(self) -> dict[str, Any]:
        """The product block (``configuration["automatic"]`` / ``["sweeping"]``)."""
        block: dict[str, Any] = self.configuration.get(self.product, {})
        return block

    def amount_setting(self, name: str) -> Decimal | None:
        value = self.settings.get(name)
        return Decimal(value) if value is not None else None

    @property
    def creditor_documents(self) -> set[str]:
        return {creditor["cpfCnpj"] for creditor in self.creditors}

    # Pure transitions; opusof.transitions.transition stamps, records history and does the I/O.
    @transition(
        field=status,
        source=RecurringConsentStatus.AWAITING_AUTHORISATION,
        target=RecurringConsentStatus.PARTIALLY_ACCEPTED,
    )
    def accept_partially(self, *, pending_approvals: int, due: dt.date) -> None:
        self.pending_approvals = pending_approvals
        self.approval_due_date = due

    @transition(
        field=status,
        source=[RecurringConsentStatus.AWAITING_AUTHORISATION, RecurringConsentStatus.PARTIALLY_ACCEPTED],
        target=RecurringConsentStatus.AUTHORISED,
    )
    def authorise(self, *, at: dt.datetime) -> None:
        self.pending_approvals = 0
        self.authorised_at = at

    @transition(
        field=status,
        source=[RecurringConsentStatus.AWAITING_AUTHORISATION, RecurringConsentStatus.PARTIALLY_ACCEPTED],
        target=RecurringConsentStatus.REJECTED,
    )
    def reject(self, *, by: str, channel: str, code: str, detail: str, at: dt.datetime) -> None:
        self.rejected_by, self.rejected_from, self.rejected_at = by, channel, at
        self.rejection_code, self.rejection_detail = code, detail

    @transition(field=status, source=RecurringConsentStatus.AUTHORISED, target=RecurringConsentStatus.REVOKED)
    def revoke(self, *, by: str, channel: str, code: str, detail: str, at: dt.datetime) -> None:
        self.revoked_by, self.revoked_from, self.revoked_at = by, channel, at
        self.revocation_code, self.revocation_detail = code, detail

    @transition(field=status, source=RecurringConsentStatus.AUTHORISED, target=RecurringConsentStatus.CONSUMED)
    def consume(self) -> None:
        pass


class RecurringConsentStatusChange(StatusChange):
    consent = models.ForeignKey(RecurringConsent, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        pass


class RecurringRejectionCode(models.TextChoices):
    """EnumRejectionReasonCodeGet."""

    SALDO_INSUFICIENTE = "SALDO_INSUFICIENTE"
    VALOR_ACIMA_LIMITE = "VALOR_ACIMA_LIMITE"
    VALOR_INVALIDO = "VALOR_INVALIDO"
    NAO_INFORMADO = "NAO_INFORMADO"
    PAGAMENTO_DIVERGENTE_CONSENTIMENTO = "PAGAMENTO_DIVERGENTE_CONSENTIMENTO"
    PAGAMENTO_RECUSADO_DETENTORA = "PAGAMENTO_RECUSADO_DETENTORA"
    PAGAMENTO_RECUSADO_SPI = "PAGAMENTO_RECUSADO_SPI"
    CONSENTIMENTO_INVALIDO = "CONSENTIMENTO_INVALIDO"
    FALHA_INFRAESTRUTURA_SPI = "FALHA_INFRAESTRUTURA_SPI"
    FALHA_INFRAESTRUTURA_ICP = "FALHA_INFRAESTRUTURA_ICP"
    FALHA_INFRAESTRUTURA_PSP_RECEBEDOR = "FALHA_INFRAESTRUTURA_PSP_RECEBEDOR"
    FALHA_INFRAESTRUTURA_DETENTORA = "FALHA_INFRAESTRUTURA_DETENTORA"
    LIMITE_PERIODO_VALOR_EXCEDIDO = "LIMITE_PERIODO_VALOR_EXCEDIDO"
    LIMITE_PERIODO_QUANTIDADE_EXCEDIDO = "LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"
    TITULARIDADE_INCONSISTENTE = "TITULARIDADE_INCONSISTENTE"
    LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO = "LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"
    LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO = "LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO"
    CONSENTIMENTO_REVOGADO = "CONSENTIMENTO_REVOGADO"
    LIMITE_TENTATIVAS_EXCEDIDO = "LIMITE_TENTATIVAS_EXCEDIDO"
    FORA_PRAZO_PERMITIDO = "FORA_PRAZO_PERMITIDO"
    DETALHE_TENTATIVA_INVALIDO = "DETALHE_TENTATIVA_INVALIDO"
    DETALHE_PAGAMENTO_INVALIDO = "DETALHE_PAGAMENTO_INVALIDO"


class RecurringCancellationReason(models.TextChoices):
    """EnumPaymentCancellationReasonType (v2)."""

    CANCELADO_PENDENCIA = "CANCELADO_PENDENCIA"
    CANCELADO_AGENDAMENTO = "CANCELADO_AGENDAMENTO"


# "Todos os pagamentos com status diferente de RJCT ou CANC devem ser considerados para o cálculo dos limites."
NOT_COUNTED_STATUSES = (PaymentStatus.RJCT, PaymentStatus.CANC)


class RecurringPayment(PixPaymentBase):
    rejection_reasons = RecurringRejectionCode
    event_kind = EventKind.RECURRING_PAYMENT

    recurring_payment_id = models.CharField(
        max_length=100, unique=True, default=new_recurring_payment_id, editable=False
    )
    consent = models.ForeignKey(RecurringConsent, on_delete=models.PROTECT, related_name="payments")
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="recurring_payments")
    end_to_end_id = models.CharField(max_length=32, unique=True)
    date = models.DateField(db_index=True)  # settlement date, Sao Paulo

    local_instrument = models.CharField(max_length=4)
    document_identification = models.CharField(max_length=14)
    document_rel = models.CharField(max_length=4)
    cnpj_initiator = models.CharField(max_length=14)
    authorisation_flow = models.CharField(max_length=16, blank=True)
    payment_reference = models.CharField(max_length=10, blank=True)
    original_recurring_payment_id = models.CharField(max_length=100, blank=True, db_index=True)
    risk_signals = models.JSONField(null=True, blank=True)

    rejection_reason = models.CharField(max_length=48, choices=RecurringRejectionCode.choices, blank=True)
    cancellation_reason = models.CharField(max_length=32, choices=RecurringCancellationReason.choices, blank=True)
    cancelled_from = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    cancelled_by_document = models.CharField(max_length=14, blank=True)
    cancelled_by_rel = models.CharField(max_length=4, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["consent", "date"]), models.Index(fields=["status", "date"])]

    def __str__(self) -> str:
        return self.recurring_payment_id

    @property
    def resource_id(self) -> str:
        return self.recurring_payment_id

    @property
    def is_retry(self) -> bool:
        return bool(self.original_recurring_payment_id)


class RecurringPaymentStatusChange(StatusChange):
    payment = models.ForeignKey(RecurringPayment, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        pass
