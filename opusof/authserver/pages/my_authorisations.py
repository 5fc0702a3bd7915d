"""Minhas autorizações: the customer's consents and scheduled payments (with cancellation), recurring consents (with
revocation), enrollments (with cancellation) and the business consents awaiting them as a co-approver. Reads go
through the apps' selectors, writes through their services."""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors.interfaces import ConnectorUnavailable
from connectors.registry import account_discovery
from consents.errors import ConsentNotAuthorisable
from consents.expiry import consent_refresh
from consents.selectors import consents_awaiting_co_approval, consents_for_customer
from consents.services import consent_approve
from enrollments.errors import EnrollmentNotFound
from enrollments.expiry import enrollment_refresh
from enrollments.models import EnrollmentStatus
from enrollments.selectors import enrollments_for_customer
from enrollments.services import enrollment_cancel_by_customer
from opusof.authserver.display import br_date, brl
from opusof.authserver.journeys import customer_actor
from opusof.authserver.pages.common import customer_page, error_page, session_customer
from opusof.documents import mask_document
from opusof.errors import RegulatedError
from payments.cancellation import payment_cancel
from payments.errors import PaymentNotFound
from payments.models import PaymentStatus, PixPayment
from payments.selectors import payment_get_for_customer, payments_of_consents
from recurring import errors as recurring_errors
from recurring.expiry import recurring_consent_refresh
from recurring.models import Actor, Channel, ConsentRejectionCode, ConsentRevocationCode
from recurring.selectors import (
    recurring_business_consent_get,
    recurring_consent_display,
    recurring_consent_get_for_customer,
    recurring_consents_awaiting_co_approval,
    recurring_consents_for_customer,
)
from recurring.services.amendments import recurring_consent_revoke
from recurring.services.consents import recurring_consent_approve, recurring_consent_reject

CANCELLABLE = (PaymentStatus.SCHD, PaymentStatus.PDNG)


def _tpp_name(row: Any) -> str:
    return str(row.client.organisation_name or row.client.name)


@require_GET
@customer_page
def my_authorisations(request: HttpRequest) -> HttpResponse:
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    # a due expiry is applied first, so the page never offers to cancel what the beat sweep is about to end
    consents = [consent_refresh(consent=c) for c in consents_for_customer(customer_document=customer["document"])]
    payments: dict[int, list[PixPayment]] = {}
    for payment in payments_of_consents(consents):
        payments.setdefault(payment.consent_id, []).append(payment)
    rows = [
        {
            "consent": c,
            "tpp_name": _tpp_name(c),
            "amount": brl(c.amount),
            "creditor_document": mask_document(c.creditor_document),
            "payments": [
                {
                    "payment": p,
                    "date": br_date(p.scheduled_date) if p.scheduled_date else "",
                    "cancellable": p.status in CANCELLABLE,
                }
                for p in payments.get(c.pk, [])
            ],
        }
        for c in consents
    ]
    recurring = [
        {"display": recurring_consent_display(recurring_consent_refresh(consent=c)), "tpp_name": _tpp_name(c)}
        for c in recurring_consents_for_customer(customer_document=customer["document"]).select_related("client")[:50]
    ]
    customer_enrollments = enrollments_for_customer(document=customer["document"])[:50]
    customer_enrollments = [enrollment_refresh(enrollment=row) for row in customer_enrollments]
    enrollments = [
        {
            "enrollment": e,
            "tpp_name": _tpp_name(e),
            "transaction_limit": brl(e.transaction_limit) if e.transaction_limit is not None else "",
            "daily_limit": brl(e.daily_limit) if e.daily_limit is not None else "",
            "cancellable": e.status not in (EnrollmentStatus.REJECTED, EnrollmentStatus.REVOKED),
        }
        for e in [
            enrollment_refresh(enrollment=row) for row in enrollments_for_customer(document=customer["document"])[:50]
        ]
    ]
    may_approve = _business_approver(customer)  # one account discovery per business for both lists
    context = {
        "rows": rows,
        "recurring": recurring,
        "enrollments": enrollments,
        "customer_name": customer["name"],
        "pending": _pending_approvals(customer, may_approve),
        "pending_recurring": _pending_recurring_approvals(customer, may_approve),
    }
    return render(request, "authserver/my_authorisations.html", context)


def _business_approver(customer: dict[str, str]) -> Callable[[str], bool]:
    """Whether the customer may approve for a business (CNPJ): the bank's account discovery lists an account of it
    they may pay from. One discovery per business per page."""
    allowed: dict[str, bool] = {}

    def may_approve(document: str) -> bool:
        if document not in allowed:
            try:
                accounts = account_discovery().discover_accounts(
                    customer_document=customer["document"], business_document=document
                )
            except ConnectorUnavailable:
                accounts = []
            allowed[document] = any(account.may_pay for account in accounts)
        return allowed[document]

    return may_approve


def _pending_approvals(customer: dict[str, str], may_approve: Callable[[str], bool]) -> list[dict[str, Any]]:
    """Business consents awaiting the customer as a co-approver (payments v4 "Aprovações de múltipla alçada")."""
    return [
        {
            "consent": row,
            "tpp_name": _tpp_name(row),
            "amount": brl(row.amount),
            "business_document": mask_document(row.business_entity_document),
        }
        for row in consents_awaiting_co_approval(customer_document=customer["document"])
        if may_approve(row.business_entity_document)
    ]


def _pending_recurring_approvals(customer: dict[str, str], may_approve: Callable[[str], bool]) -> list[dict[str, Any]]:
    """Business recurring consents awaiting the customer as a co-approver, within approvalDueDate (automatic payments
    v2 "Aprovações de múltipla alçada")."""
    return [
        {
            "display": recurring_consent_display(row),
            "tpp_name": _tpp_name(row),
            "business_document": mask_document(row.business_entity_document),
            "pending_approvals": row.pending_approvals,
            "due": row.approval_due_date,
        }
        for row in recurring_consents_awaiting_co_approval(customer_document=customer["document"])
        if may_approve(row.business_entity_document)
    ]


@require_POST
@customer_page
def my_consent_approve(request: HttpRequest, consent_id: str) -> HttpResponse:
    """Another approver of a multi-approval business consent; the last one makes it AUTHORISED."""
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    pending = _pending_approvals(customer, _business_approver(customer))
    if not any(item["consent"].consent_id == consent_id for item in pending):
        raise Http404("Consentimento não encontrado.")
    try:
        consent_approve(consent_id=consent_id, actor=customer_actor(customer))
    except ConsentNotAuthorisable as exc:
        return error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")


@require_http_methods(["GET", "POST"])
@customer_page
def my_payment_cancel(request: HttpRequest, payment_id: str) -> HttpResponse:
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    try:
        payment = payment_get_for_customer(payment_id=payment_id, customer_document=customer["document"])
    except PaymentNotFound as exc:
        raise Http404("Pagamento não encontrado.") from exc
    error = ""
    if request.method == "POST":
        try:
            payment_cancel(
                payment_id=payment.payment_id,
                client=None,
                cancelled_from="DETENTORA",
                document=customer["document"],
                rel="CPF",
                actor=customer_actor(customer),
            )
        except RegulatedError as exc:
            error = exc.detail
        else:
            return redirect("authserver:my-authorisations")
    context = {
        "payment": payment,
        "amount": brl(payment.amount),
        "date": br_date(payment.scheduled_date) if payment.scheduled_date else "",
        "creditor_name": payment.consent.creditor_name,
        "error": error,
        "cancellable": payment.status in CANCELLABLE,
    }
    return render(request, "authserver/cancel_payment.html", context, status=422 if error else 200)


@require_POST
@customer_page
def my_recurring_revoke(request: HttpRequest, recurring_consent_id: str) -> HttpResponse:
    """The customer revokes a recurring consent in the bank's consent management area (automatic payments v2
    §"revogação": revokedBy USUARIO, revokedFrom DETENTORA, REVOGADO_USUARIO)."""
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    try:
        consent = recurring_consent_refresh(
            consent=recurring_consent_get_for_customer(
                recurring_consent_id=recurring_consent_id, customer_document=customer["document"]
            )
        )
    except recurring_errors.RecurringConsentNotFound as exc:
        raise Http404("Consentimento não encontrado.") from exc
    try:
        recurring_consent_revoke(
            recurring_consent_id=consent.recurring_consent_id,
            code=ConsentRevocationCode.REVOGADO_USUARIO,
            detail="Revogado pelo usuário na área de gestão de consentimentos.",
            revoked_by=Actor.USUARIO,
            revoked_from=Channel.DETENTORA,
            actor=customer_actor(customer),
        )
    except recurring_errors.ConsentNotCancellable as exc:
        return error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")


@require_POST
@customer_page
def my_recurring_decide(request: HttpRequest, recurring_consent_id: str) -> HttpResponse:
    """A co-approver of a multi-approval business recurring consent approves (the last approval makes it
    AUTHORISED) or refuses it (REJECTED REJEITADO_USUARIO by USUARIO from DETENTORA, §2.1.3). After approvalDueDate
    both are refused and the consent is REJECTED TEMPO_EXPIRADO_AUTORIZACAO."""
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    consent = recurring_business_consent_get(recurring_consent_id=recurring_consent_id)
    if consent is None or not _business_approver(customer)(consent.business_entity_document):
        raise Http404("Consentimento não encontrado.")
    actor = customer_actor(customer)
    action = request.POST.get("action")
    try:
        if action == "approve":
            recurring_consent_approve(recurring_consent_id=recurring_consent_id, actor=actor)
        elif action == "reject":
            recurring_consent_reject(
                recurring_consent_id=recurring_consent_id,
                code=ConsentRejectionCode.REJEITADO_USUARIO,
                detail="Recusado por um dos aprovadores na instituição detentora.",
                rejected_by=Actor.USUARIO,
                rejected_from=Channel.DETENTORA,
                actor=actor,
            )
        else:
            return error_page(request, "Ação inválida.")
    except (recurring_errors.ConsentNotAuthorisable, recurring_errors.ConsentNotCancellable) as exc:
        return error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")


@require_POST
@customer_page
def my_enrollment_cancel(request: HttpRequest, enrollment_id: str) -> HttpResponse:
    """The customer ends an enrollment on the bank's pages: revoked when AUTHORISED, else rejected (enrollments v2
    REVOGADO_MANUALMENTE / REJEITADO_MANUALMENTE, cancelledFrom DETENTORA)."""
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    try:
        enrollment_cancel_by_customer(enrollment_id=enrollment_id, document=customer["document"])
    except EnrollmentNotFound as exc:
        raise Http404("Vínculo de conta não encontrado.") from exc
    except RegulatedError as exc:
        return error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")
