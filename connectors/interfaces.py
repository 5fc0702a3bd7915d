"""The core-bank contract opusof speaks (Opus connector routes), as typed capabilities.

One Protocol per capability so a bank can plug a different implementation per route (settings
``OPUSOF_CONNECTORS``). Values in and out are frozen dataclasses; codes are the OFB codes spelled as in
the payments v4 spec so the domain can use them without translation.
"""

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


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
class Creditor:
    """One of a recurring consent's creditors (``creditors[]``: CPF or CNPJ and name)."""

    document: str
    name: str


@dataclass(frozen=True)
class PeriodicLimit:
    """A sweeping consent's limit for one period (``periodicLimits.day|week|month|year``)."""

    period: str  # day, week, month, year
    quantity_limit: int | None = None
    transaction_limit: Decimal | None = None


@dataclass(frozen=True)
class FirstPayment:
    """An automatic-payments consent's one-off first payment (``recurringConfiguration.automatic.firstPayment``)."""

    date: dt.date
    amount: Decimal
    creditor_account: AccountRef
    currency: str = "BRL"
    remittance_information: str | None = None


@dataclass(frozen=True)
class AutomaticConfiguration:
    """Pix Automático terms (``recurringConfiguration.automatic``, AutomaticV2 of the connector contract)."""

    contract_id: str
    interval: str  # SEMANAL, MENSAL, TRIMESTRAL, SEMESTRAL, ANUAL
    contract_debtor_name: str
    contract_debtor_document: str
    is_retry_accepted: bool
    reference_start_date: dt.date
    use_overdraft_limit: bool = True
    fixed_amount: Decimal | None = None
    maximum_variable_amount: Decimal | None = None
    minimum_variable_amount: Decimal | None = None
    first_payment: FirstPayment | None = None


@dataclass(frozen=True)
class SweepingConfiguration:
    """Sweeping terms (``recurringConfiguration.sweeping``, PostSweeping of the connector contract)."""

    total_allowed_amount: Decimal | None = None
    transaction_limit: Decimal | None = None
    periodic_limits: tuple[PeriodicLimit, ...] = ()


def _first_payment(body: Any) -> FirstPayment:
    account = body["creditorAccount"]
    return FirstPayment(
        date=dt.date.fromisoformat(str(body["date"])),
        amount=Decimal(str(body["amount"])),
        currency=str(body.get("currency") or "BRL"),
        creditor_account=AccountRef(
            ispb=str(account["ispb"]),
            number=str(account["number"]),
            account_type=AccountType(account["accountType"]),
            issuer=str(account["issuer"]) if account.get("issuer") else None,
        ),
        remittance_information=body.get("remittanceInformation") or None,
    )


def recurring_configuration_from_wire(body: Any) -> AutomaticConfiguration | SweepingConfiguration:
    """A ``recurringConfiguration`` as automatic payments v2 spells it (``{"automatic": {...}}`` or
    ``{"sweeping": {...}}``), which the connector contract's AutomaticV2 / PostSweeping copy. ValueError when it is
    neither or a field is missing or malformed."""

    def amount(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    try:
        if "automatic" in body:
            block = body["automatic"]
            first = block.get("firstPayment")
            return AutomaticConfiguration(
                contract_id=str(block["contractId"]),
                interval=str(block["interval"]),
                contract_debtor_name=str(block["contractDebtor"]["name"]),
                contract_debtor_document=str(block["contractDebtor"]["document"]["identification"]),
                is_retry_accepted=bool(block["isRetryAccepted"]),
                use_overdraft_limit=bool(block.get("useOverdraftLimit", True)),
                reference_start_date=dt.date.fromisoformat(str(block["referenceStartDate"])),
                fixed_amount=amount(block.get("fixedAmount")),
                maximum_variable_amount=amount(block.get("maximumVariableAmount")),
                minimum_variable_amount=amount(block.get("minimumVariableAmount")),
                first_payment=_first_payment(first) if first else None,
            )
        if "sweeping" in body:
            block = body["sweeping"]
            return SweepingConfiguration(
                total_allowed_amount=amount(block.get("totalAllowedAmount")),
                transaction_limit=amount(block.get("transactionLimit")),
                periodic_limits=tuple(
                    PeriodicLimit(
                        period=str(period),
                        quantity_limit=limit.get("quantityLimit"),
                        transaction_limit=amount(limit.get("transactionLimit")),
                    )
                    for period, limit in (block.get("periodicLimits") or {}).items()
                ),
            )
    except (KeyError, TypeError, AttributeError, ArithmeticError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    raise ValueError("recurringConfiguration must be automatic or sweeping")


@dataclass(frozen=True)
class RecurringTerms:
    """What a recurring consent adds to ConsentInfo: the recurring variant (``PAYMENT_RECURRING_CONSENT``) of the
    connector routes sends it as ``consent.creditors`` / ``recurringConfiguration`` / ``startDateTime``."""

    creditors: tuple[Creditor, ...]
    configuration: AutomaticConfiguration | SweepingConfiguration
    start_at: dt.datetime | None = None
    additional_information: str | None = None


@dataclass(frozen=True)
class ConsentInfo:
    """The consent a connector call is made under, as the contract's ``consent`` object names it: ``externalId``
    (our consent id, the recurringConsentId for recurring ones), ``tpp.name``, ``creationDateTime`` and
    ``expirationDateTime``. ``recurring`` set makes the call the recurring variant of its route."""

    consent_id: str
    tpp_name: str
    created_at: dt.datetime | None = None  # the validation route's schemas have no field for it
    expires_at: dt.datetime | None = None  # open-ended recurring consents have none
    recurring: RecurringTerms | None = None


@dataclass(frozen=True)
class PaymentData:
    """What the customer is about to authorise (validate route) or pay (initiate route), and under which consent
    (``consent``: None where the caller has no consent at hand)."""

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
    consent: ConsentInfo | None = None
    cnpj_initiator: str | None = None  # the TPP's CNPJ (cnpjInitiator), known once a payment is requested


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
    # Recurring payments (automatic payments v2): an extra-day retry names the payment it retries
    # (originalRecurringPaymentId), Pix Automático charges their cycle (paymentReference).
    original_recurring_payment_id: str | None = None
    payment_reference: str | None = None
    authorisation_flow: str | None = None  # HYBRID_FLOW, CIBA_FLOW, FIDO_FLOW; None is HYBRID_FLOW
    ibge_town_code: str | None = None


@dataclass(frozen=True)
class PaymentContext:
    """What the status and cancel routes tell the bank beyond the payment's ids: the payment and its consent
    (``consent`` and ``loggedUser`` of FindPixPayment / CancellationPixPayment) and, on cancel, the document of
    the user who asked for it (``cancellation.cancelledBy``)."""

    data: PaymentData
    cancelled_by: str | None = None


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
        self, *, customer_document: str, business_document: str | None = None, consent: ConsentInfo | None = None
    ) -> list[DiscoveredAccount]:
        """Lists the accounts the customer (or the business they act for) may choose as debtor, for ``consent``
        when the caller has one."""
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
    def get_payment_status(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
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
    def cancel_payment(
        self, *, payment_id: str, end_to_end_id: str, context: PaymentContext | None = None
    ) -> PaymentStatusResult:
        """Cancels a scheduled (or pending) payment. Raises ConnectorRejected when it can no longer be."""
        ...


@dataclass(frozen=True)
class BankPaymentRecord:
    """One payment as the bank's books hold it (ListBankPayments): what reconciliation compares with opusof's
    record of the same ``payment_id`` (the id opusof sent at initiation, ``internalIdempotencyKey``)."""

    payment_id: str
    end_to_end_id: str
    status: BankPaymentStatus
    amount: Decimal
    created_at: dt.datetime
    updated_at: dt.datetime
    idempotency_key: str = ""
    rejection_code: str | None = None
    bank_reference: str = ""


@runtime_checkable
class ListBankPayments(Protocol):
    """Reconciliation's view of the bank: every payment it holds. Not a route of the Opus connector contract (an
    opusof extension, ``docs/reconciliation.md``); a bank without it can still be reconciled one payment at a time
    through GetPaymentStatus, but then a payment the bank made that opusof has no record of cannot be seen."""

    def list_bank_payments(self, *, since: dt.datetime | None = None) -> Iterator[BankPaymentRecord]:
        """The bank's payments created or changed at or after ``since`` (all of them when None), oldest first."""
        ...
