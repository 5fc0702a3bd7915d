"""Tables of the embedded sandbox bank (``connectors.sandbox``): its customers, accounts, Pix key directory, issued
QR codes, ledger and the payments it received. Nothing here is used by the HTTP connector."""

from decimal import Decimal

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone

from connectors.interfaces import AccountRef, AccountType, BankPaymentStatus


class SandboxCustomer(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "INDIVIDUAL", "Pessoa natural (CPF)"
        BUSINESS = "BUSINESS", "Pessoa jurídica (CNPJ)"

    document = models.CharField(max_length=14, unique=True, help_text="CPF (11 digits) or CNPJ (14 digits)")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=140)
    # The consent pages log customers in with CPF + password; a business has no password of its own.
    password = models.CharField(max_length=128, blank=True)
    transaction_limit = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("999999999.99"), help_text="Per payment"
    )
    daily_limit = models.DecimalField(
        max_digits=18, decimal_places=2, default=Decimal("999999999.99"), help_text="Per business day"
    )
    authorised_people = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="businesses",
        limit_choices_to={"kind": Kind.INDIVIDUAL},
        help_text="Individuals who may pay from a business's accounts",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.document})"

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        """True when ``raw_password`` is this customer's password."""
        return bool(self.password) and check_password(raw_password, self.password)


class SandboxAccount(models.Model):
    class Behaviour(models.TextChoices):
        NORMAL = "NORMAL", "Normal"
        INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS", "Saldo insuficiente"
        LIMIT_EXCEEDED = "LIMIT_EXCEEDED", "Acima do limite"
        SLOW = "SLOW", "Lenta (espera slow_seconds)"
        OFFLINE = "OFFLINE", "Fora do ar"
        PENDING_THEN_SETTLE = "PENDING_THEN_SETTLE", "PDNG, liquida após settle_delay_seconds"

    ispb = models.CharField(max_length=8)
    issuer = models.CharField(max_length=4, blank=True)
    number = models.CharField(max_length=20)
    account_type = models.CharField(max_length=4, choices=[(t.value, t.value) for t in AccountType])
    owner = models.ForeignKey(SandboxCustomer, on_delete=models.PROTECT, related_name="accounts")
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    may_pay = models.BooleanField(default=True)
    behaviour = models.CharField(max_length=20, choices=Behaviour.choices, default=Behaviour.NORMAL)
    slow_seconds = models.FloatField(default=3.0)
    settle_delay_seconds = models.FloatField(default=2.0)

    class Meta:
        ordering = ["ispb", "issuer", "number"]
        constraints = [
            models.UniqueConstraint(fields=["ispb", "issuer", "number", "account_type"], name="sandbox_account_unique")
        ]

    def __str__(self) -> str:
        return f"{self.ispb} {self.issuer}/{self.number} {self.account_type}"

    @property
    def ref(self) -> AccountRef:
        return AccountRef(
            ispb=self.ispb, issuer=self.issuer or None, number=self.number, account_type=AccountType(self.account_type)
        )


class SandboxPixKey(models.Model):
    class KeyType(models.TextChoices):
        CPF = "CPF"
        CNPJ = "CNPJ"
        PHONE = "PHONE"
        EMAIL = "EMAIL"
        EVP = "EVP"

    key = models.CharField(max_length=77, unique=True)
    key_type = models.CharField(max_length=5, choices=KeyType.choices)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="pix_keys")

    class Meta:
        ordering = ["key"]
        verbose_name = "sandbox Pix key"

    def __str__(self) -> str:
        return f"{self.key_type} {self.key}"


class SandboxQrCode(models.Model):
    class Kind(models.TextChoices):
        STATIC = "STATIC"
        DYNAMIC = "DYNAMIC"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        USED = "USED"

    txid = models.CharField(max_length=35, unique=True)
    kind = models.CharField(max_length=7, choices=Kind.choices)
    payload = models.TextField(help_text="BR Code (Pix Copia e Cola)")
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    pix_key = models.ForeignKey(SandboxPixKey, on_delete=models.PROTECT, related_name="qr_codes")
    creditor_account = models.ForeignKey(SandboxAccount, on_delete=models.PROTECT, related_name="qr_codes")
    location = models.CharField(max_length=77, unique=True, null=True, blank=True, help_text="Dynamic only")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "sandbox QR code"

    def __str__(self) -> str:
        return f"{self.kind} {self.txid}"


class SandboxPayment(models.Model):
    payment_id = models.CharField(max_length=100, unique=True)
    end_to_end_id = models.CharField(max_length=32, db_index=True)
    # The unique index is what makes concurrent initiations with one key wait for, then reuse, the first.
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    debtor_account = models.ForeignKey(SandboxAccount, on_delete=models.PROTECT, related_name="payments_out")
    creditor_ispb = models.CharField(max_length=8)
    creditor_issuer = models.CharField(max_length=4, blank=True)
    creditor_number = models.CharField(max_length=20)
    creditor_account_type = models.CharField(max_length=4)
    creditor_account = models.ForeignKey(
        SandboxAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="payments_in"
    )
    local_instrument = models.CharField(max_length=4)
    proxy = models.CharField(max_length=77, blank=True)
    qr_code = models.ForeignKey(SandboxQrCode, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=4, choices=[(s.value, s.value) for s in BankPaymentStatus])
    scheduled_date = models.DateField(null=True, blank=True)
    rejection_code = models.CharField(max_length=40, blank=True)
    rejection_detail = models.CharField(max_length=2048, blank=True)
    settle_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.amount} {self.status}"


class SandboxLedgerEntry(models.Model):
    class Direction(models.TextChoices):
        DEBIT = "DEBIT"
        CREDIT = "CREDIT"

    account = models.ForeignKey(SandboxAccount, on_delete=models.PROTECT, related_name="ledger")
    payment = models.ForeignKey(SandboxPayment, on_delete=models.PROTECT, related_name="ledger")
    direction = models.CharField(max_length=6, choices=Direction.choices)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    balance_after = models.DecimalField(max_digits=18, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "sandbox ledger entries"
        # A payment moves money once: a second debit would violate this even if every other guard failed.
        constraints = [models.UniqueConstraint(fields=["payment", "direction"], name="sandbox_ledger_once")]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount} {self.account}"


class ConnectorCall(models.Model):
    """One call of the HTTP connector to the bank's back-end (connectors.http), kept so staff can see the
    bank's latency, failures and retries per route, and follow one request by its x-fapi-interaction-id."""

    class Outcome(models.TextChoices):
        OK = "OK", "Answered"
        REJECTED = "REJECTED", "Refused (business error)"
        UNAVAILABLE = "UNAVAILABLE", "Unavailable (timeout, connection, 5xx)"
        CIRCUIT_OPEN = "CIRCUIT_OPEN", "Not sent: circuit open"

    route = models.CharField(max_length=20, db_index=True)
    method = models.CharField(max_length=6, default="POST")
    url = models.CharField(max_length=512)
    attempt = models.PositiveSmallIntegerField(default=1)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error_code = models.CharField(max_length=60, blank=True)
    error_detail = models.CharField(max_length=2048, blank=True)
    latency_ms = models.FloatField()
    correlation_id = models.CharField(max_length=100, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.route} #{self.attempt} {self.outcome} {self.http_status or '-'} {self.latency_ms:.0f} ms"


class SandboxPixRefund(models.Model):
    """A Pix devolução the sandbox bank executed or refused as the bank of the original Pix's receiver
    (connectors.sandbox.refunds). Its own row, not a SandboxPayment: it is no Open Finance payment, so it is not in
    the payments reconciliation compares with opusof's records."""

    class Status(models.TextChoices):
        EM_PROCESSAMENTO = "EM_PROCESSAMENTO"
        DEVOLVIDO = "DEVOLVIDO"
        NAO_REALIZADO = "NAO_REALIZADO"

    refund_id = models.CharField(max_length=35, unique=True, help_text="The caller's id: its dedup key")
    end_to_end_id = models.CharField(max_length=32, db_index=True)
    original = models.ForeignKey(
        SandboxPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds"
    )
    debtor_account = models.ForeignKey(
        SandboxAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds_out"
    )
    creditor_account = models.ForeignKey(
        SandboxAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds_in"
    )
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    description = models.CharField(max_length=140, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.CharField(max_length=140, blank=True)
    return_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.refund_id} {self.amount} {self.status}"
