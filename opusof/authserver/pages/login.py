"""The front channel of an authorisation (``/auth/authorize``), the customer's login and logout, and the flows that
tie a browser session to the pushed requests it is authorising."""

import logging
import secrets
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from opusof.authserver import services
from opusof.authserver.customers import customer_authenticate
from opusof.authserver.models import PushedAuthorisationRequest
from opusof.authserver.pages.common import CUSTOMER_KEY, customer_page, error_page, session_customer
from opusof.authserver.throttling import CUSTOMER_LOGIN, cpf_digits
from opusof.degrade import CACHE_ERRORS

FLOWS_KEY = "authserver_flows"
# How long a customer has between /authorize and the decision; the consent's own 5-minute window also applies.
FLOW_TTL_SECONDS = 600
logger = logging.getLogger(__name__)


# --- flows -----------------------------------------------------------------------------------------------------------


def flow_par(request: HttpRequest, flow: str) -> PushedAuthorisationRequest:
    """The pushed request this session's ``flow`` is authorising; 404 when unknown or expired."""
    flows: dict[str, dict[str, Any]] = request.session.get(FLOWS_KEY, {})
    entry = flows.get(flow)
    if entry is None or entry["started"] + FLOW_TTL_SECONDS < timezone.now().timestamp():
        raise Http404("Fluxo de autorização não encontrado ou expirado.")
    par = PushedAuthorisationRequest.objects.select_related("client").filter(pk=entry["par"]).first()
    if par is None:
        raise Http404("Fluxo de autorização não encontrado.")
    return par


def end_flow(request: HttpRequest, flow: str) -> None:
    flows = dict(request.session.get(FLOWS_KEY, {}))
    flows.pop(flow, None)
    request.session[FLOWS_KEY] = flows


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
        return error_page(request, "Pedido de autorização sem client_id ou request_uri (PAR obrigatório).")
    par = services.par_redeem(client_id=client_id, request_uri=request_uri)
    if par is None:
        return error_page(request, "Pedido de autorização inválido, expirado ou já utilizado.")
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
    par = flow_par(request, flow)
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
