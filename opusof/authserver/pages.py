"""The bank customer's pages: log in, review a consent, choose the debtor account, approve or deny, then back to the
TPP; and "Minhas autorizações" (consents and scheduled payments, with cancellation; recurring consents, with
revocation; business consents awaiting the customer's approval as a co-approver). Payments v4 consents and
automatic payments v2 recurring consents share the flow; the PAR's scopes say which one is being authorised.

Session cookie + CSRF on every form; X-Frame-Options/CSP frame-ancestors against clickjacking; the only external
redirect goes to a redirect URI the TPP registered and pushed in its signed request (no open redirect).
"""

import contextlib
import datetime as dt
import logging
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors.interfaces import AccountRef, ConnectorUnavailable, ConsentInfo, DiscoveredAccount
from connectors.registry import account_discovery
from consents.errors import ConsentNotAuthorisable
from consents.models import ConsentStatus, LocalInstrument, PaymentConsent
from consents.services import (
    consent_approvals_required,
    consent_approve,
    consent_authorise,
    consent_connector_info,
    consent_refresh,
    consent_reject,
)
from enrollments.errors import EnrollmentNotFound
from enrollments.models import Enrollment, EnrollmentStatus
from enrollments.selectors import enrollments_for_customer
from enrollments.services import enrollment_authorise, enrollment_cancel_by_customer, enrollment_refresh
from opusof.authserver import services
from opusof.authserver.customers import customer_authenticate
from opusof.authserver.models import PushedAuthorisationRequest
from opusof.authserver.throttling import CUSTOMER_LOGIN, cpf_digits
from opusof.degrade import CACHE_ERRORS
from opusof.documents import mask_document
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.timeutil import business_tz
from payments.models import PaymentStatus, PixPayment
from payments.services import payment_cancel
from recurring import errors as recurring_errors
from recurring.models import (
    Actor,
    Channel,
    ConsentRejectionCode,
    ConsentRevocationCode,
    RecurringConsent,
    RecurringConsentStatus,
)
from recurring.selectors import (
    recurring_consent_display,
    recurring_consent_get_for_customer,
    recurring_consents_for_customer,
)
from recurring.services import (
    recurring_consent_approve,
    recurring_consent_authorise,
    recurring_consent_connector_info,
    recurring_consent_refresh,
    recurring_consent_reject,
    recurring_consent_reject_divergent_login,
    recurring_consent_revoke,
)

CUSTOMER_KEY = "authserver_customer"
FLOWS_KEY = "authserver_flows"
# How long a customer has between /authorize and the decision; the consent's own 5-minute window also applies.
FLOW_TTL_SECONDS = 600
# A customer's login on these pages is good for this long; then they authenticate again.
CUSTOMER_LOGIN_SECONDS = 900
logger = logging.getLogger(__name__)

# No form-action: Chromium applies it to the redirect that follows a form post, and approving ends in a redirect
# to the TPP's registered URI.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
INSTRUMENT_LABELS = {
    LocalInstrument.MANU.value: "Pix por dados da conta",
    LocalInstrument.DICT.value: "Pix por chave",
    LocalInstrument.QRDN.value: "Pix por QR Code dinâmico",
    LocalInstrument.QRES.value: "Pix por QR Code estático",
    LocalInstrument.INIC.value: "Pix iniciado pelo recebedor",
}
CANCELLABLE = (PaymentStatus.SCHD, PaymentStatus.PDNG)

View = Callable[..., HttpResponse]


def customer_page(view: View) -> View:
    """No caching of personal data; a strict CSP (no scripts at all, inline styles only, no framing)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own form posts, which
        # Django's CSRF origin check (rightly) refuses; nothing is sent cross-origin either way.
        response["Referrer-Policy"] = "same-origin"
        response["X-Frame-Options"] = "DENY"
        response["X-Content-Type-Options"] = "nosniff"
        response.setdefault("Content-Security-Policy", CSP)
        return response

    return wrapper


def brl(amount: Decimal) -> str:
    """``R$ 1.234,56`` (pt-BR)."""
    whole, _, cents = f"{amount:,.2f}".partition(".")
    return f"R$ {whole.replace(',', '.')},{cents}"


def _br_date(value: str | dt.date) -> str:
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")


# --- session ---------------------------------------------------------------------------------------------------------


def session_customer(request: HttpRequest) -> dict[str, str] | None:
    """The logged-in customer, if the login is recent enough: a consent is approved with a fresh authentication,
    never with a login left open on a shared device."""
    customer: dict[str, str] | None = request.session.get(CUSTOMER_KEY)
    if customer is None:
        return None
    age = timezone.now() - dt.datetime.fromisoformat(customer["auth_time"])
    if age.total_seconds() > CUSTOMER_LOGIN_SECONDS:
        request.session.pop(CUSTOMER_KEY, None)
        return None
    return customer


def _flow_par(request: HttpRequest, flow: str) -> PushedAuthorisationRequest:
    flows: dict[str, dict[str, Any]] = request.session.get(FLOWS_KEY, {})
    entry = flows.get(flow)
    if entry is None or entry["started"] + FLOW_TTL_SECONDS < timezone.now().timestamp():
        raise Http404("Fluxo de autorização não encontrado ou expirado.")
    par = PushedAuthorisationRequest.objects.select_related("client").filter(pk=entry["par"]).first()
    if par is None:
        raise Http404("Fluxo de autorização não encontrado.")
    return par


def _end_flow(request: HttpRequest, flow: str) -> None:
    flows = dict(request.session.get(FLOWS_KEY, {}))
    flows.pop(flow, None)
    request.session[FLOWS_KEY] = flows


def _to_tpp(response_params: services.AuthorisationResponse) -> HttpResponse:
    """The hybrid flow answers in the fragment (OIDC Core §3.3.2.5), so nothing reaches logs or the Referer; JARM
    in the query, as one signed JWT."""
    return HttpResponseRedirect(response_params.location())


def _error_to_tpp(request: HttpRequest, flow: str, par: PushedAuthorisationRequest, description: str) -> HttpResponse:
    _end_flow(request, flow)
    return _to_tpp(services.authorisation_error(par=par, error="access_denied", description=description))


def _error_page(request: HttpRequest, message: str, *, status: int = 400, retry_login: str = "") -> HttpResponse:
    context = {"message": message, "retry_login": retry_login}
    return render(request, "authserver/error.html", context, status=status)


# --- authorize -------------------------------------------------------------------------------------------------------


# OIDC Core §3.1.2.1: the authorization endpoint takes GET and form POST. A cross-site POST here can do no more
# than the equivalent GET (open a flow for a request the client pushed), so it is exempt from the CSRF check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
@customer_page
def authorize(request: HttpRequest) -> HttpResponse:
    """Front channel of a pushed request (RFC 9126 §4): only ``client_id`` and ``request_uri`` count.

    Until the pushed request is found nothing about the redirect URI is trusted, so errors are shown here, never
    redirected (RFC 6749 §4.1.2.1)."""
    params = request.POST if request.method == "POST" else request.GET
    client_id = params.get("client_id", "")
    request_uri = params.get("request_uri", "")
    if not client_id or not request_uri:
        return _error_page(request, "Pedido de autorização sem client_id ou request_uri (PAR obrigatório).")
    par = services.par_redeem(client_id=client_id, request_uri=request_uri)
    if par is None:
        return _error_page(request, "Pedido de autorização inválido, expirado ou já utilizado.")
    flow = secrets.token_urlsafe(16)
    now = timezone.now().timestamp()
    # abandoned flows are dropped here, so the session stays small
    flows = {k: v for k, v in request.session.get(FLOWS_KEY, {}).items() if v["started"] + FLOW_TTL_SECONDS > now}
    flows[flow] = {"par": par.pk, "started": now}
    request.session[FLOWS_KEY] = flows
    if session_customer(request) is None:
        return redirect("authserver:login", flow=flow)
    return redirect("authserver:consent", flow=flow)


# --- login -----------------------------------------------------------------------------------------------------------


def _login(request: HttpRequest) -> tuple[dict[str, str] | None, str]:
    cpf = request.POST.get("cpf", "")
    name = cpf_digits(cpf)
    try:
        if CUSTOMER_LOGIN.locked(name):
            return None, "Acesso bloqueado temporariamente por tentativas inválidas. Tente mais tarde."
        customer = customer_authenticate(cpf, request.POST.get("password", ""))
        if customer is None:
            # Counted per CPF in the shared cache (Redis), so guessing a password is slow across all web processes.
            CUSTOMER_LOGIN.record_failure(name)
            return None, "CPF ou senha inválidos."
        CUSTOMER_LOGIN.clear(name)
    except CACHE_ERRORS as exc:
        # Without the counter, password guessing would go unthrottled: logins wait for the cache (a page, not a 500).
        logger.warning("login refused while the cache is unavailable: %s", exc)
        return None, "Login temporariamente indisponível. Tente novamente em instantes."
    flows = request.session.get(FLOWS_KEY, {})
    request.session.cycle_key()  # no session fixation across the login
    data = {"document": customer.document, "name": customer.name, "auth_time": timezone.now().isoformat()}
    request.session[CUSTOMER_KEY] = data
    request.session[FLOWS_KEY] = flows
    return data, ""


@require_http_methods(["GET", "POST"])
@customer_page
def login(request: HttpRequest, flow: str) -> HttpResponse:
    par = _flow_par(request, flow)
    error = ""
    if request.method == "POST":
        customer, error = _login(request)
        if customer is not None:
            return redirect("authserver:consent", flow=flow)
    tpp_name = par.client.organisation_name or par.client.name
    return render(
        request,
        "authserver/login.html",
        {"error": error, "tpp_name": tpp_name, "action": reverse("authserver:login", kwargs={"flow": flow})},
        status=401 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@customer_page
def my_login(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        customer, error = _login(request)
        if customer is not None:
            return redirect("authserver:my-authorisations")
    return render(
        request,
        "authserver/login.html",
        {"error": error, "tpp_name": "", "action": reverse("authserver:my-login")},
        status=401 if error else 200,
    )


@require_POST
@customer_page
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("authserver:my-login")


# --- consent review --------------------------------------------------------------------------------------------------


def _account_value(account: AccountRef) -> str:
    return "|".join([account.ispb, account.issuer or "", account.number, account.account_type.value])


def _payable_accounts(
    customer_document: str, row: PaymentConsent | RecurringConsent | Enrollment
) -> list[DiscoveredAccount]:
    """The accounts the customer may pay from, from the bank (never from the form); the debtor account the TPP
    fixed, if any, is the only choice (payments v4 / automatic payments v2 / enrollments v2 §"debtorAccount")."""
    consent: ConsentInfo | None = None  # enrollments v2: the contract's discovery has no enrollment variant
    if isinstance(row, PaymentConsent):
        consent = consent_connector_info(row)
    elif isinstance(row, RecurringConsent):
        consent = recurring_consent_connector_info(row)
    discovered = account_discovery().discover_accounts(
        customer_document=customer_document, business_document=row.business_entity_document or None, consent=consent
    )
    accounts = [account for account in discovered if account.may_pay]
    if row.debtor_account is not None:
        accounts = [account for account in accounts if account.account == row.debtor_account]
    return accounts


def _review_context(consent: PaymentConsent, par: PushedAuthorisationRequest) -> dict[str, Any]:
    if consent.scheduled_dates:
        dates = [_br_date(day) for day in consent.scheduled_dates]
    elif consent.payment_date:
        dates = [_br_date(consent.payment_date)]
    else:
        dates = [_br_date(timezone.now().astimezone(business_tz()).date())]
    return {
        "tpp_name": par.client.organisation_name or par.client.name,
        "creditor_name": consent.creditor_name,
        "creditor_document": mask_document(consent.creditor_document),
        "amount": brl(consent.amount),
        "dates": dates,
        "scheduled": consent.is_scheduled,
        "method": INSTRUMENT_LABELS.get(consent.local_instrument, consent.local_instrument),
        "proxy": consent.proxy,
        "business_document": mask_document(consent.business_entity_document)
        if consent.business_entity_document
        else "",
        "expires_at": consent.expires_at,
    }


def _wrong_customer(request: HttpRequest, flow: str) -> HttpResponse:
    """The consent names the customer the TPP saw (loggedUser); another login may not authorise it."""
    request.session.pop(CUSTOMER_KEY, None)  # let the right customer log in for this flow
    return _error_page(
        request,
        "Este consentimento foi criado para outro CPF. Entre com o CPF correto.",
        status=403,
        retry_login=reverse("authserver:login", kwargs={"flow": flow}),
    )


def _account_choices(accounts: list[DiscoveredAccount]) -> list[dict[str, Any]]:
    return [{"value": _account_value(a.account), "id": f"account-{a.account.number}", "account": a} for a in accounts]


@require_http_methods(["GET", "POST"])
@customer_page
def consent(request: HttpRequest, flow: str) -> HttpResponse:
    par = _flow_par(request, flow)
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:login", flow=flow)
    if services.is_recurring(par.scopes):
        review = _recurring_consent
    elif services.is_enrollment(par.scopes):
        review = _enrollment_consent
    else:
        review = _payment_consent
    try:
        return review(request, flow, par, customer)
    except ConnectorUnavailable:
        return _error_page(request, "Banco indisponível no momento; tente novamente em instantes.", status=503)


def _payment_consent(
    request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]
) -> HttpResponse:
    """Review of a payments v4 consent; approve → consent_authorise, deny → REJEITADO_USUARIO."""
    row = PaymentConsent.objects.filter(consent_id=par.consent_id, client=par.client).first()
    if row is None:
        return _error_to_tpp(request, flow, par, "Consentimento não encontrado.")
    row = consent_refresh(consent=row)  # applies the 5-minute authorisation window (payments v4 §"expiração")
    if row.status != ConsentStatus.AWAITING_AUTHORISATION:
        reason = "Consentimento expirado." if row.rejection_reason == "TEMPO_EXPIRADO_AUTORIZACAO" else ""
        return _error_to_tpp(request, flow, par, reason or f"Consentimento não aguarda autorização ({row.status}).")
    if row.logged_user_document != customer["document"]:
        return _wrong_customer(request, flow)
    choices = _account_choices(_payable_accounts(customer["document"], row))
    error = ""
    actor = f"customer:{customer['document']}"
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "deny":
            # Already final (expired meanwhile): the TPP gets access_denied all the same.
            with contextlib.suppress(ConsentNotAuthorisable):
                consent_reject(
                    consent_id=row.consent_id,
                    reason="REJEITADO_USUARIO",
                    detail="O cliente recusou a autorização na instituição detentora.",
                    actor=actor,
                )
            return _error_to_tpp(request, flow, par, "O cliente recusou a autorização.")
        if action == "approve":
            chosen = next((c for c in choices if c["value"] == request.POST.get("account")), None)
            if chosen is None:
                error = "Escolha a conta de débito."
            else:
                return _approve(request, flow, par, row, chosen["account"].account, customer)
        else:
            error = "Ação inválida."
    context = {
        **_review_context(row, par),
        "choices": choices,
        "error": error,
        "customer_name": customer["name"],
        "action": reverse("authserver:consent", kwargs={"flow": flow}),
    }
    return render(request, "authserver/consent.html", context, status=400 if error else 200)


def _approve(
    request: HttpRequest,
    flow: str,
    par: PushedAuthorisationRequest,
    row: PaymentConsent,
    account: AccountRef,
    customer: dict[str, str],
) -> HttpResponse:
    try:
        authorised = consent_authorise(
            consent_id=row.consent_id,
            debtor_account=account,
            actor=f"customer:{customer['document']}",
            approvals_required=consent_approvals_required(row.business_entity_document),
        )
    except ConsentNotAuthorisable as exc:
        return _error_to_tpp(request, flow, par, exc.detail)
    if authorised.status not in (ConsentStatus.AUTHORISED, ConsentStatus.PARTIALLY_ACCEPTED):
        # The bank refused (§5.2 priority table): the consent is REJECTED with its reason, the TPP gets an error.
        return _error_to_tpp(request, flow, par, f"Consentimento rejeitado: {authorised.rejection_reason}.")
    return _approved(request, flow, par, customer)


def _approved(
    request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]
) -> HttpResponse:
    _end_flow(request, flow)
    auth_time = dt.datetime.fromisoformat(customer["auth_time"])
    return _to_tpp(services.authorisation_success(par=par, customer_document=customer["document"], auth_time=auth_time))


def _recurring_consent(
    request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]
) -> HttpResponse:
    """Review of an automatic payments v2 recurring consent: creditors, periodicity, limits, expiry; the debtor
    account from the bank's discovery; approve → recurring_consent_authorise, deny → rejection by the user."""
    row = RecurringConsent.objects.filter(recurring_consent_id=par.consent_id, client=par.client).first()
    if row is None:
        return _error_to_tpp(request, flow, par, "Consentimento não encontrado.")
    row = recurring_consent_refresh(consent=row)  # applies the authorisation window
    if row.status != RecurringConsentStatus.AWAITING_AUTHORISATION:
        expired = row.rejection_code == ConsentRejectionCode.TEMPO_EXPIRADO_AUTORIZACAO
        reason = "Consentimento expirado." if expired else f"Consentimento não aguarda autorização ({row.status})."
        return _error_to_tpp(request, flow, par, reason)
    if row.logged_user_document != customer["document"]:
        recurring_consent_reject_divergent_login(
            recurring_consent_id=row.recurring_consent_id, customer_document=customer["document"]
        )
        return _error_to_tpp(request, flow, par, "O usuário autenticado não é o que criou o consentimento.")
    choices = _account_choices(_payable_accounts(customer["document"], row))
    error = ""
    actor = f"customer:{customer['document']}"
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "deny":
            # automatic payments v2 §"rejection": rejectedBy USUARIO, rejectedFrom DETENTORA, REJEITADO_USUARIO.
            with contextlib.suppress(recurring_errors.ConsentNotCancellable):  # already final: denied all the same
                recurring_consent_reject(
                    recurring_consent_id=row.recurring_consent_id,
                    code=ConsentRejectionCode.REJEITADO_USUARIO,
                    detail="O cliente recusou a autorização na instituição detentora.",
                    rejected_by=Actor.USUARIO,
                    rejected_from=Channel.DETENTORA,
                    actor=actor,
                )
            return _error_to_tpp(request, flow, par, "O cliente recusou a autorização.")
        if action == "approve":
            chosen = next((c for c in choices if c["value"] == request.POST.get("account")), None)
            if chosen is None:
                error = "Escolha a conta de débito."
            else:
                try:
                    authorised = recurring_consent_authorise(
                        recurring_consent_id=row.recurring_consent_id,
                        debtor_account=chosen["account"].account,
                        actor=actor,
                        approvals_required=consent_approvals_required(row.business_entity_document),
                    )
                except recurring_errors.ConsentNotAuthorisable as exc:
                    return _error_to_tpp(request, flow, par, exc.detail)
                if authorised.status not in (
                    RecurringConsentStatus.AUTHORISED,
                    RecurringConsentStatus.PARTIALLY_ACCEPTED,
                ):
                    return _error_to_tpp(request, flow, par, f"Consentimento rejeitado: {authorised.rejection_code}.")
                return _approved(request, flow, par, customer)
        else:
            error = "Ação inválida."
    context = {
        "tpp_name": par.client.organisation_name or par.client.name,
        "consent": recurring_consent_display(row),
        "choices": choices,
        "error": error,
        "customer_name": customer["name"],
        "action": reverse("authserver:consent", kwargs={"flow": flow}),
    }
    return render(request, "authserver/consent_recurring.html", context, status=400 if error else 200)


_AMOUNT = re.compile(r"^\d{1,15}([.,]\d{1,2})?$", re.ASCII)


def _form_amount(value: str) -> Decimal | None:
    """A limit typed by the customer (``1000``, ``1000,50`` or ``1000.50``); None when empty or malformed."""
    value = value.strip()
    return Decimal(value.replace(",", ".")) if _AMOUNT.match(value) else None


def _enrollment_consent(
    request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]
) -> HttpResponse:
    """Enrollments v2 account-holder validation: the customer picks the account and sets the limits of payments
    without redirection (transactionLimit, optional dailyLimit); approve → enrollment_authorise (AWAITING_ENROLLMENT),
    deny → rejected REJEITADO_MANUALMENTE from DETENTORA (enrollment_cancel_by_customer)."""
    row = Enrollment.objects.filter(enrollment_id=par.consent_id, client=par.client).first()
    if row is None:
        return _error_to_tpp(request, flow, par, "Vínculo de conta não encontrado.")
    row = enrollment_refresh(enrollment=row)
    if row.status != EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION:
        return _error_to_tpp(request, flow, par, f"Vínculo de conta não aguarda autorização ({row.status}).")
    if row.logged_user_document != customer["document"]:
        return _wrong_customer(request, flow)
    choices = _account_choices(_payable_accounts(customer["document"], row))
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "deny":
            with contextlib.suppress(RegulatedError):  # already final: the TPP gets access_denied all the same
                enrollment_cancel_by_customer(enrollment_id=row.enrollment_id, document=customer["document"])
            return _error_to_tpp(request, flow, par, "O cliente recusou o vínculo de conta.")
        if action == "approve":
            chosen = next((c for c in choices if c["value"] == request.POST.get("account")), None)
            transaction_limit = _form_amount(request.POST.get("transaction_limit", ""))
            daily_text = request.POST.get("daily_limit", "").strip()
            daily_limit = _form_amount(daily_text) if daily_text else None
            if chosen is None:
                error = "Escolha a conta de débito."
            elif transaction_limit is None or (daily_text and daily_limit is None):
                error = "Informe limites válidos (ex.: 1000,00)."
            else:
                try:
                    enrollment_authorise(
                        enrollment_id=row.enrollment_id,
                        debtor_account=chosen["account"].account,
                        actor=f"customer:{customer['document']}",
                        transaction_limit=transaction_limit,
                        daily_limit=daily_limit,
                        customer_document=customer["document"],
                        customer_name=customer["name"],
                    )
                except ParameterInvalid as exc:  # zero or negative limits: the customer corrects them
                    error = exc.detail
                except RegulatedError as exc:
                    return _error_to_tpp(request, flow, par, exc.detail)
                else:
                    return _approved(request, flow, par, customer)
        else:
            error = "Ação inválida."
    context = {
        "tpp_name": par.client.organisation_name or par.client.name,
        "enrollment_name": row.enrollment_name,
        "choices": choices,
        "error": error,
        "customer_name": customer["name"],
        "transaction_limit": request.POST.get("transaction_limit", ""),
        "daily_limit": request.POST.get("daily_limit", ""),
        "action": reverse("authserver:consent", kwargs={"flow": flow}),
    }
    return render(request, "authserver/consent_enrollment.html", context, status=400 if error else 200)


# --- Minhas autorizações ---------------------------------------------------------------------------------------------


def _my_payment(customer: dict[str, str], payment_id: str) -> PixPayment:
    payment = (
        PixPayment.objects.visible()
        .select_related("consent", "client")
        .filter(payment_id=payment_id, consent__logged_user_document=customer["document"])
        .first()
    )
    if payment is None:
        raise Http404("Pagamento não encontrado.")
    return payment


@require_GET
@customer_page
def my_authorisations(request: HttpRequest) -> HttpResponse:
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    # Expiries apply on read here too, so the page never offers to cancel what the beat sweep is about to end.
    consents = [
        consent_refresh(consent=c)
        for c in PaymentConsent.objects.select_related("client")
        .filter(logged_user_document=customer["document"])
        .order_by("-created_at")[:50]
    ]
    payments: dict[int, list[PixPayment]] = {}
    for payment in PixPayment.objects.visible().filter(consent__in=consents).order_by("scheduled_date", "created_at"):
        payments.setdefault(payment.consent_id, []).append(payment)
    rows = [
        {
            "consent": c,
            "tpp_name": c.client.organisation_name or c.client.name,
            "amount": brl(c.amount),
            "creditor_document": mask_document(c.creditor_document),
            "payments": [
                {
                    "payment": p,
                    "date": _br_date(p.scheduled_date) if p.scheduled_date else "",
                    "cancellable": p.status in CANCELLABLE,
                }
                for p in payments.get(c.pk, [])
            ],
        }
        for c in consents
    ]
    recurring = [
        {
            "display": recurring_consent_display(recurring_consent_refresh(consent=c)),
            "tpp_name": c.client.organisation_name or c.client.name,
        }
        for c in recurring_consents_for_customer(customer_document=customer["document"]).select_related("client")[:50]
    ]
    enrollments = [
        {
            "enrollment": e,
            "tpp_name": e.client.organisation_name or e.client.name,
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
    """PARTIALLY_ACCEPTED consents of businesses the customer may pay for (the bank's account discovery says so),
    which the customer has not approved yet (payments v4 "Aprovações de múltipla alçada")."""
    candidates = (
        PaymentConsent.objects.select_related("client")
        .filter(status=ConsentStatus.PARTIALLY_ACCEPTED)
        .exclude(business_entity_document="")
        .exclude(history__actor=f"customer:{customer['document']}")
        .order_by("created_at")[:50]
    )
    return [
        {
            "consent": row,
            "tpp_name": row.client.organisation_name or row.client.name,
            "amount": brl(row.amount),
            "business_document": mask_document(row.business_entity_document),
        }
        for row in candidates
        if may_approve(row.business_entity_document)
    ]


def _pending_recurring_approvals(customer: dict[str, str], may_approve: Callable[[str], bool]) -> list[dict[str, Any]]:
    """PARTIALLY_ACCEPTED recurring consents of businesses the customer may pay for, not yet approved by them and
    still within approvalDueDate (automatic payments v2 "Aprovações de múltipla alçada")."""
    candidates = (
        RecurringConsent.objects.select_related("client")
        .filter(status=RecurringConsentStatus.PARTIALLY_ACCEPTED, authorisation_deadline__gte=timezone.now())
        .exclude(business_entity_document="")
        .exclude(history__actor=f"customer:{customer['document']}")
        .order_by("authorisation_deadline")[:50]
    )
    return [
        {
            "display": recurring_consent_display(row),
            "tpp_name": row.client.organisation_name or row.client.name,
            "business_document": mask_document(row.business_entity_document),
            "pending_approvals": row.pending_approvals,
            "due": row.approval_due_date,
        }
        for row in candidates
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
        consent_approve(consent_id=consent_id, actor=f"customer:{customer['document']}")
    except ConsentNotAuthorisable as exc:
        return _error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")


@require_http_methods(["GET", "POST"])
@customer_page
def my_payment_cancel(request: HttpRequest, payment_id: str) -> HttpResponse:
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:my-login")
    payment = _my_payment(customer, payment_id)
    error = ""
    if request.method == "POST":
        try:
            payment_cancel(
                payment_id=payment.payment_id,
                client=None,
                cancelled_from="DETENTORA",
                document=customer["document"],
                rel="CPF",
                actor=f"customer:{customer['document']}",
            )
        except RegulatedError as exc:
            error = exc.detail
        else:
            return redirect("authserver:my-authorisations")
    context = {
        "payment": payment,
        "amount": brl(payment.amount),
        "date": _br_date(payment.scheduled_date) if payment.scheduled_date else "",
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
        consent = recurring_consent_get_for_customer(
            recurring_consent_id=recurring_consent_id, customer_document=customer["document"]
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
            actor=f"customer:{customer['document']}",
        )
    except recurring_errors.ConsentNotCancellable as exc:
        return _error_page(request, exc.detail, status=422)
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
    consent = (
        RecurringConsent.objects.filter(recurring_consent_id=recurring_consent_id)
        .exclude(business_entity_document="")
        .first()
    )
    if consent is None or not _business_approver(customer)(consent.business_entity_document):
        raise Http404("Consentimento não encontrado.")
    actor = f"customer:{customer['document']}"
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
            return _error_page(request, "Ação inválida.")
    except (recurring_errors.ConsentNotAuthorisable, recurring_errors.ConsentNotCancellable) as exc:
        return _error_page(request, exc.detail, status=422)
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
        return _error_page(request, exc.detail, status=422)
    return redirect("authserver:my-authorisations")
