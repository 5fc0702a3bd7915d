"""The core-bank contract opusof speaks (Opus connector routes), as typed capabilities.

One Protocol per capability so a bank can plug a different implementation per route (settings
``OPUSOF_CONNECTORS``). Values in and out are frozen dataclasses; codes are the OFB codes spelled as in
the payments v4 spec so the domain can use them without translation.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ConnectorError(Exception):
    """Base of every connector failure."""


class ConnectorUnavailable(ConnectorError):
    """The bank could not answer (timeout, outage). Retryable; maps to FALHA_INFRAESTRUTURA_DETENTORA."""


class ConnectorOutcomeUnknown(ConnectorUnavailable):
    """The request reached the bank and no answer came back in time (read timeout). For an initiation the bank may
    still pay: callers treat it as pending and ask the status route later, never as a refusal."""


class ConnectorRejected(ConnectorError):
    """The bank answered and refused. Terminal; ``code`` is an OFB code such as ``SALDO_INSUFICIENTE``."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class AccountType(StrEnum):
    CACC = "CACC"
    SVGS = "SVGS"
    TRAN = "TRAN"
    SLRY = "SLRY"


class BankPaymentStatus(StrEnum):
    """Statuses the bank may report for a payment it received (subset of EnumPaymentStatusType)."""

    ACCP = "ACCP"
    ACPD = "ACPD"
    ACSC = "ACSC"
    PDNG = "PDNG"
    SCHD = "SCHD"
    RJCT = "RJCT"
    CANC = "CANC"


@dataclass(frozen=True)
class AccountRef:
    ispb: str
    number: str
    account_type: AccountType
    issuer: str | None = None


@dataclass(frozen=True)
class DiscoveredAccount:
    account: AccountRef
    holder_name: str
    holder_document: str
    may_pay: bool


@dataclass(frozen=True)
class PaymentData:
    """What the customer is about to authorise (validate route) or pay (initiate route)."""

    amount: Decimal
    local_instrument: str
    creditor_account: AccountRef
    creditor_document: str
    creditor_name: str
    customer_document: str
    business_document: str | None = None
    debtor_account: AccountRef | None = None
    proxy: str | None = None
    qr_code: str | None = None
    transaction_identification: str | None = None
    payment_date: dt.date | None = None  # None: immediate
    currency: str = "BRL"


@dataclass(frozen=True)
class ValidationIssue:
    code: str  # OFB code, e.g. CONTA_NAO_PERMITE_PAGAMENTO, QRCODE_INVALIDO, DETALHE_PAGAMENTO_INVALIDO
    detail: str


@dataclass(frozen=True)
class ValidationResult:
    issues: tuple[ValidationIssue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass(frozen=True)
class PaymentInitiation:
    payment_id: str
    end_to_end_id: str
    idempotency_key: str  # the bank must not pay twice for the same key
    data: PaymentData
    remittance_information: str | None = None


@dataclass(frozen=True)
class PaymentStatusResult:
    status: BankPaymentStatus
    rejection_code: str | None = None
    rejection_detail: str = ""
    bank_reference: str = ""
    settled_at: dt.datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class ValidatePaymentData(Protocol):
    def validate_payment_data(self, data: PaymentData) -> ValidationResult:
        """Checks the payment against the bank's rules (accounts, limits, DICT, QR); never moves money."""
        ...


@runtime_checkable
class DiscoverAccounts(Protocol):
    def discover_accounts(
        self, *, customer_document: str, business_document: str | None = None
    ) -> list[DiscoveredAccount]:
        """Lists the accounts the customer (or the business they act for) may choose as debtor."""
        ...


@runtime_checkable
class InitiatePayment(Protocol):
    def initiate_payment(self, initiation: PaymentInitiation) -> PaymentStatusResult:
        """Hands a Pix payment (immediate, or scheduled when ``payment_date`` is set) to the bank.

        Idempotent on ``idempotency_key``. Raises ConnectorRejected for a refusal, ConnectorUnavailable when
        the bank cannot be reached.
        """
        ...


@runtime_checkable
class GetPaymentStatus(Protocol):
    def get_payment_status(self, *, payment_id: str, end_to_end_id: str) -> PaymentStatusResult:
        """Current status of a payment the bank received."""
        ...


@runtime_checkable
class GetPaymentStatuses(Protocol):
    """Optional: the status of many payments in one call, for a connector that can answer a batch more cheaply
    than one call per payment (the in-process sandbox bank). The Opus contract's route is per payment, so the due
    sweep falls back to ``get_payment_status`` for a connector without it."""

    def get_payment_statuses(
        self, payments: Sequence[tuple[str, str]]
    ) -> dict[str, PaymentStatusResult | ConnectorError]:
        """``(payment_id, end_to_end_id)`` pairs → each one's status, or the error ``get_payment_status`` would
        have raised for it."""
        ...


@runtime_checkable
class CancelPayment(Protocol):
    def cancel_payment(self, *, payment_id: str, end_to_end_id: str) -> PaymentStatusResult:
        """Cancels a scheduled (or pending) payment. Raises ConnectorRejected when it can no longer be."""
        ...
