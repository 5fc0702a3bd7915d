"""The reference bank's routes: each request's work, done by the sandbox bank and translated through
``connectors.http.contract`` (``connectors.reference.server`` is the HTTP around it)."""

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from connectors.http import listing
from connectors.http.contract.discovery import (
    discovery_consent_from_request,
    discovery_params_from_request,
    discovery_response,
)
from connectors.http.contract.errors import error_body
from connectors.http.contract.lookup import PaymentLookup, payment_lookup_from_request
from connectors.http.contract.payment import PaymentView, initiation_from_request, payment_response
from connectors.http.contract.validation import (
    payment_data_from_validation_request,
    recurring_validation_from_request,
    validation_response,
)
from connectors.http.contract.wire import LISTING_ROUTE, ContractError, is_recurring_request
from connectors.interfaces import (
    AccountRef,
    AccountType,
    ConnectorRejected,
    ConnectorUnavailable,
    PaymentData,
    PaymentStatusResult,
    ValidationIssue,
    ValidationResult,
)
from connectors.models import SandboxPayment
from connectors.sandbox import SandboxBank

if TYPE_CHECKING:
    from connectors.reference.server import ReferenceBankServer


def dispatch(server: "ReferenceBankServer", route: str, body: Any) -> tuple[int, Any]:
    """A route's work, done by the sandbox bank, and its answer (status, body): a malformed body is 400
    ``PARAMETRO_INVALIDO``, a refusal 422, an unavailable bank 503."""
    bank = server.bank
    try:
        if route == "validate":
            if is_recurring_request(body):
                return validation_response(_validate_recurring(bank, body))
            return validation_response(bank.validate_payment_data(payment_data_from_validation_request(body)))
        if route == "discovery":
            customer, business = discovery_params_from_request(body)
            accounts = bank.discover_accounts(
                customer_document=customer,
                business_document=business,
                consent=discovery_consent_from_request(body),
            )
            return 200, discovery_response(accounts)
        if route == "initiate":
            initiation = initiation_from_request(body)
            result = bank.initiate_payment(initiation)
            return 201, _payment(result, idempotency_key=initiation.idempotency_key)
        if route == LISTING_ROUTE:
            since, cursor, size = listing.listing_params_from_request(body)
            page, after = bank.bank_payments_page(since=since, after=_cursor(cursor), limit=size)
            return 200, listing.listing_response(page, str(after) if after is not None else None)
        lookup = payment_lookup_from_request(body)
        if route == "cancel":
            return _cancel(server, lookup, str(body.get("idempotencyKey") or ""))
        result = bank.get_payment_status(payment_id=lookup.payment_id, end_to_end_id=lookup.end_to_end_id)
        return 200, _payment(result, payment_id=lookup.payment_id)
    except ContractError as exc:
        return 400, error_body([("PARAMETRO_INVALIDO", str(exc))])
    except ConnectorRejected as exc:
        return 422, error_body([(exc.code, exc.detail)])
    except ConnectorUnavailable as exc:
        return 503, error_body([("FALHA_INFRAESTRUTURA", str(exc))])


def _cancel(server: "ReferenceBankServer", lookup: PaymentLookup, key: str) -> tuple[int, Any]:
    """A cancellation, answered once per ``idempotencyKey``: a repeat gets the first answer (its ConnectorRejected
    and ConnectorUnavailable are not kept: nothing was done, so a repeat may try again)."""
    with server.cancellation_lock:
        if key and key in server.cancellations:
            return server.cancellations[key]
        result = server.bank.cancel_payment(payment_id=lookup.payment_id, end_to_end_id=lookup.end_to_end_id)
        answer = (200, _payment(result, payment_id=lookup.payment_id))
        if key:
            server.cancellations[key] = answer
        return answer


def _validate_recurring(bank: SandboxBank, body: Any) -> ValidationResult:
    """A recurring consent has no amount of its own: the debtor account must be one the customer may pay from,
    and a Pix Automático first payment is checked as the payment it will be."""
    request = recurring_validation_from_request(body)
    issues: list[ValidationIssue] = []
    if request.debtor_account is not None:
        accounts = bank.discover_accounts(
            customer_document=request.customer_document, business_document=request.business_document
        )
        if not any(found.account == request.debtor_account and found.may_pay for found in accounts):
            issues.append(ValidationIssue("CONTA_NAO_PERMITE_PAGAMENTO", "Conta de débito não permite pagamento."))
    terms = request.consent.recurring
    first = getattr(terms.configuration, "first_payment", None) if terms else None
    if terms is not None and first is not None:
        creditor = terms.creditors[0]
        issues.extend(
            bank.validate_payment_data(
                PaymentData(
                    amount=first.amount,
                    currency=first.currency,
                    local_instrument="MANU",
                    creditor_account=first.creditor_account,
                    creditor_document=creditor.document,
                    creditor_name=creditor.name,
                    customer_document=request.customer_document,
                    business_document=request.business_document,
                    debtor_account=request.debtor_account,
                    payment_date=first.date,
                )
            ).issues
        )
    return ValidationResult(tuple(issues))


def _payment(result: PaymentStatusResult, **lookup: str) -> dict[str, Any]:
    row = SandboxPayment.objects.select_related("debtor_account").get(**lookup)
    view = PaymentView(
        payment_id=row.payment_id,
        end_to_end_id=row.end_to_end_id,
        amount=row.amount,
        currency="BRL",
        local_instrument=row.local_instrument,
        creditor_account=AccountRef(
            ispb=row.creditor_ispb,
            issuer=row.creditor_issuer or None,
            number=row.creditor_number,
            account_type=AccountType(row.creditor_account_type),
        ),
        debtor_account=row.debtor_account.ref,
        created_at=row.created_at,
        proxy=row.proxy or None,
        payment_date=row.scheduled_date,
        bank_id=str(row.pk),
    )
    return payment_response(view, result, now=timezone.now())


def _cursor(cursor: str | None) -> int:
    try:
        return int(cursor or 0)
    except ValueError as exc:
        raise ContractError(f"invalid cursor {cursor!r}") from exc
