"""Payment consents (payments v4 §1.3): what a TPP asked to pay and the customer's decision on it."""

import datetime as dt
import uuid

from django.db import models
from django_fsm import FSMField, FSMModelMixin, transition

from connectors.interfaces import AccountRef
from opusof.accounts import DebtorAccount
from opusof.models import AuditedStatus, StatusChange, TppClient
from opusof.ofb import account_ref
from opusof.outbox.models import EventKind


def new_consent_id() -> str:
    return f"urn:opusof:{uuid.uuid4()}"


class ConsentStatus(models.TextChoices):
    AWAITING_AUTHORISATION = "AWAITING_AUTHORISATION"
    PARTIALLY_ACCEPTED = "PARTIALLY_ACCEPTED"
    AUTHORISED = "AUTHORISED"
    CONSUMED = "CONSUMED"
    REJECTED = "REJECTED"


class ConsentRejectionReason(models.TextChoices):
    VALOR_INVALIDO = "VALOR_INVALIDO"
    NAO_INFORMADO = "NAO_INFORMADO"
    FALHA_INFRAESTRUTURA = "FALHA_INFRAESTRUTURA"
    TEMPO_EXPIRADO_AUTORIZACAO = "TEMPO_EXPIRADO_AUTORIZACAO"
    TEMPO_EXPIRADO_CONSUMO = "TEMPO_EXPIRADO_CONSUMO"
    REJEITADO_USUARIO = "REJEITADO_USUARIO"
    CONTAS_ORIGEM_DESTINO_IGUAIS = "CONTAS_ORIGEM_DESTINO_IGUAIS"
    CONTA_NAO_PERMITE_PAGAMENTO = "CONTA_NAO_PERMITE_PAGAMENTO"
    SALDO_INSUFICIENTE = "SALDO_INSUFICIENTE"
    VALOR_ACIMA_LIMITE = "VALOR_ACIMA_LIMITE"
    QRCODE_INVALIDO = "QRCODE_INVALIDO"


class LocalInstrument(models.TextChoices):
    MANU = "MANU"
    DICT = "DICT"
    QRDN = "QRDN"
    QRES = "QRES"
    INIC = "INIC"


FINAL_CONSENT_STATUSES = (ConsentStatus.CONSUMED, ConsentStatus.REJECTED)


class PaymentConsent(AuditedStatus, DebtorAccount, FSMModelMixin, models.Model):
    event_kind = EventKind.PAYMENT_CONSENT

    """One consent. ``request_data`` keeps the TPP's ``data`` claim so GET echoes it exactly."""

    consent_id = models.CharField(max_length=256, unique=True, default=new_consent_id, editable=False)
    client = models.ForeignKey(TppClient, on_delete=models.PROTECT, related_name="payment_consents")
    status = FSMField(
        max_length=32, choices=ConsentStatus.choices, default=ConsentStatus.AWAITING_AUTHORISATION, protected=True
    )
    created_at = models.DateTimeField()
    status_updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    logged_user_document = models.CharField(max_length=11, db_index=True)
    business_entity_document = models.CharField(max_length=14, blank=True, db_index=True)
    creditor_document = models.CharField(max_length=14, db_index=True)
    creditor_name = models.CharField(max_length=120)
    amount = models.DecimalField(max_digits=19, decimal_places=2)
    currency = models.CharField(max_length=3, default="BRL")
    local_instrument = models.CharField(max_length=4, choices=LocalInstrument.choices)
    proxy = models.CharField(max_length=77, blank=True)
    qr_code = models.CharField(max_length=512, blank=True)
    creditor_ispb = models.CharField(max_length=8)
    creditor_issuer = models.CharField(max_length=4, blank=True)
    creditor_number = models.CharField(max_length=20)
    creditor_account_type = models.CharField(max_length=4)
    # Immediate payments carry ``payment_date``; scheduled ones ``schedule`` and their expanded dates.
    payment_date = models.DateField(null=True, blank=True)
    schedule = models.JSONField(null=True, blank=True)
    scheduled_dates = models.JSONField(default=list, blank=True)
    # Multi-approval (alçadas): approvals still missing while PARTIALLY_ACCEPTED.
    pending_approvals = models.PositiveSmallIntegerField(default=0)

    rejection_reason = models.CharField(max_length=40, choices=ConsentRejectionReason.choices, blank=True)
    rejection_detail = models.CharField(max_length=2048, blank=True)
    request_data = models.JSONField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return self.consent_id

    @property
    def resource_id(self) -> str:
        return self.consent_id

    @property
    def is_scheduled(self) -> bool:
        return self.schedule is not None

    @property
    def creditor_account(self) -> AccountRef:
        return account_ref(self.creditor_ispb, self.creditor_issuer, self.creditor_number, self.creditor_account_type)

    # Transitions are pure: the service sets timestamps/expiry, records history and enqueues work.
    @transition(field=status, source=ConsentStatus.AWAITING_AUTHORISATION, target=ConsentStatus.PARTIALLY_ACCEPTED)
    def accept_partially(self, *, pending_approvals: int) -> None:
        self.pending_approvals = pending_approvals

    @transition(
        field=status,
        source=[ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.PARTIALLY_ACCEPTED],
        target=ConsentStatus.AUTHORISED,
    )
    def authorise(self) -> None:
        self.pending_approvals = 0

    @transition(field=status, source=ConsentStatus.AUTHORISED, target=ConsentStatus.CONSUMED)
    def consume(self) -> None:
        pass

    @transition(
        field=status,
        source=[ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.PARTIALLY_ACCEPTED, ConsentStatus.AUTHORISED],
        target=ConsentStatus.REJECTED,
    )
    def reject(self, *, reason: str, detail: str) -> None:
        self.rejection_reason = reason
        self.rejection_detail = detail


class ConsentStatusChange(StatusChange):
    consent = models.ForeignKey(PaymentConsent, on_delete=models.CASCADE, related_name="history")

    class Meta(StatusChange.Meta):
        pass


def consent_created_window(created_at: dt.datetime) -> dt.datetime:
    """AWAITING_AUTHORISATION lasts 5 minutes from creation (payments v4 §1.3, expirationDateTime)."""
    return created_at + dt.timedelta(minutes=5)


def consumption_window(authorised_at: dt.datetime) -> dt.datetime:
    """An AUTHORISED consent must be consumed within 60 minutes (payments v4, expirationDateTime)."""
    return authorised_at + dt.timedelta(minutes=60)
