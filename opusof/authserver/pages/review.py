"""The review page (``/auth/consentimento/<flow>``): the customer sees what the TPP asks, picks the account to pay
from and approves or denies; then the browser goes back to the TPP. What is shown and done depends on the pushed
request's journey (opusof.authserver.journeys); this page is the same for all of them."""

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from connectors.interfaces import AccountRef, ConnectorUnavailable, DiscoveredAccount
from connectors.registry import account_discovery
from opusof.authserver import services
from opusof.authserver.journeys import ConsentJourney, JourneyEnds, ReviewFormInvalid
from opusof.authserver.models import PushedAuthorisationRequest
from opusof.authserver.pages.common import CUSTOMER_KEY, customer_page, error_page, session_customer
from opusof.authserver.pages.login import end_flow, flow_par


def payable_accounts(customer_document: str, journey: ConsentJourney[Any], row: Any) -> list[DiscoveredAccount]:
    """The accounts the customer may pay from, from the bank (never from the form); the debtor account the TPP
    fixed, if any, is the only choice (payments v4 / automatic payments v2 / enrollments v2 §"debtorAccount")."""
    discovered = account_discovery().discover_accounts(
        customer_document=customer_document,
        business_document=row.business_entity_document or None,
        consent=journey.connector_info(row),
    )
    accounts = [account for account in discovered if account.may_pay]
    if row.debtor_account is not None:
        accounts = [account for account in accounts if account.account == row.debtor_account]
    return accounts


def _account_value(account: AccountRef) -> str:
    return "|".join([account.ispb, account.issuer or "", account.number, account.account_type.value])


def _account_choices(accounts: list[DiscoveredAccount]) -> list[dict[str, Any]]:
    """The radio buttons of the account choice; their element ids (``account-<number>``) are stable for automation."""
    return [{"value": _account_value(a.account), "id": f"account-{a.account.number}", "account": a} for a in accounts]


def _to_tpp(request: HttpRequest, flow: str, response_params: services.AuthorisationResponse) -> HttpResponse:
    """The hybrid flow answers in the fragment (OIDC Core §3.3.2.5), so nothing reaches logs or the Referer; JARM
    in the query, as one signed JWT."""
    end_flow(request, flow)
    return HttpResponseRedirect(response_params.location())


def _denied(request: HttpRequest, flow: str, par: PushedAuthorisationRequest, description: str) -> HttpResponse:
    return _to_tpp(request, flow, services.authorisation_error(par=par, error="access_denied", description=description))


def _approved(
    request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]
) -> HttpResponse:
    auth_time = dt.datetime.fromisoformat(customer["auth_time"])
    response = services.authorisation_success(par=par, customer_document=customer["document"], auth_time=auth_time)
    return _to_tpp(request, flow, response)


def _wrong_customer(request: HttpRequest, flow: str) -> HttpResponse:
    """The consent names the customer the TPP saw (loggedUser); another login may not authorise it."""
    request.session.pop(CUSTOMER_KEY, None)  # let the right customer log in for this flow
    return error_page(
        request,
        "Este consentimento foi criado para outro CPF. Entre com o CPF correto.",
        status=403,
        retry_login=reverse("authserver:login", kwargs={"flow": flow}),
    )


@require_http_methods(["GET", "POST"])
@customer_page
def consent(request: HttpRequest, flow: str) -> HttpResponse:
    par = flow_par(request, flow)
    customer = session_customer(request)
    if customer is None:
        return redirect("authserver:login", flow=flow)
    try:
        return _review(request, flow, par, customer)
    except ConnectorUnavailable:
        return error_page(request, "Banco indisponível no momento; tente novamente em instantes.", status=503)


def _review(request: HttpRequest, flow: str, par: PushedAuthorisationRequest, customer: dict[str, str]) -> HttpResponse:
    journey = services.journey_for(par.scopes)
    row = journey.find(client=par.client, target_id=par.consent_id)
    if row is None:
        return _denied(request, flow, par, journey.not_found)
    if not journey.awaits_customer(row):
        return _denied(request, flow, par, journey.not_awaiting(row))
    if row.logged_user_document != customer["document"]:
        if journey.reject_divergent_login(row, customer=customer):
            return _denied(request, flow, par, "O usuário autenticado não é o que criou o consentimento.")
        return _wrong_customer(request, flow)
    choices = _account_choices(payable_accounts(customer["document"], journey, row))
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "deny":
            journey.deny(row, customer=customer)
            return _denied(request, flow, par, journey.denied)
        if action == "approve":
            chosen = next((c for c in choices if c["value"] == request.POST.get("account")), None)
            if chosen is None:
                error = "Escolha a conta de débito."
            else:
                try:
                    journey.approve(row, account=chosen["account"].account, customer=customer, form=request.POST)
                except ReviewFormInvalid as exc:
                    error = exc.message
                except JourneyEnds as exc:
                    return _denied(request, flow, par, exc.description)
                else:
                    return _approved(request, flow, par, customer)
        else:
            error = "Ação inválida."
    context = {
        **journey.review_context(row, request.POST),
        "tpp_name": par.client.organisation_name or par.client.name,
        "choices": choices,
        "error": error,
        "customer_name": customer["name"],
        "action": reverse("authserver:consent", kwargs={"flow": flow}),
    }
    return render(request, journey.review_template, context, status=400 if error else 200)
