"""The demo shop's pages (pt-BR): pick a plan, pick your bank, approve there, come back to a receipt that follows
the schedule, and move the sandbox clock a month ahead to see a parcel paid (docs/shop.md)."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from shop import client
from shop.catalogue import OFFERS, Offer, offer
from shop.client import ShopError

URN = "urn:opusof:"
PLAN_STATUS = {
    "pendente": "Aguardando sua aprovação no banco",
    "ativa": "Ativa",
    "concluida": "Concluída",
    "cancelado": "Cancelada",
    "rejeitado": "Recusada pelo banco",
}
PARCEL_STATUS = {
    "pendente": "Pendente",
    "agendado": "Agendada",
    "efetivado": "Paga",
    "rejeitado": "Recusada",
    "cancelado": "Cancelada",
}
SESSION_KEY = "shop_plans"  # plan uuid → the business date it was created on (the listing's inicio/fim)


def _enabled() -> None:
    if not settings.SHOP_ENABLED:
        raise Http404("Loja de demonstração desligada.")


def _today() -> tuple[dt.date, dict[str, Any] | None]:
    """The business date (the sandbox clock's, else the real one) and the clock as the API tells it."""
    state = client.clock()
    if state is None:
        return dt.date.today(), None
    return dt.date.fromisoformat(state["today"]), state


def _brl(value: Decimal | str) -> str:
    whole, cents = f"{Decimal(value):,.2f}".split(".")
    return f"R$ {whole.replace(',', '.')},{cents}"


def _br_date(value: str) -> str:
    return dt.date.fromisoformat(value).strftime("%d/%m/%Y")


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    _enabled()
    offers = [{"offer": o, "price": _brl(o.amount)} for o in OFFERS]
    return render(request, "shop/index.html", {"offers": offers})


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    _enabled()
    chosen = offer(slug)
    if chosen is None:
        raise Http404("Plano não encontrado.")
    error = ""
    cpf = request.POST.get("cpf", settings.SHOP_DEMO_CPF).strip()
    if request.method == "POST":
        try:
            return _create(request, chosen, bank=request.POST.get("bank", ""), cpf=cpf)
        except ShopError as exc:
            error = exc.message
    try:
        banks = client.participants()
    except ShopError as exc:
        banks, error = [], error or exc.message
    context = {"offer": chosen, "price": _brl(chosen.amount), "banks": banks, "cpf": cpf, "error": error}
    return render(request, "shop/subscribe.html", context, status=422 if error else 200)


def _create(request: HttpRequest, chosen: Offer, *, bank: str, cpf: str) -> HttpResponse:
    if not bank:
        raise ShopError("Escolha o seu banco.")
    today, _ = _today()
    body = {
        "pagador": {"idParticipante": bank, "cpf": cpf},
        "favorecido": {"contaBanco": dict(settings.SHOP_BENEFICIARY)},
        "pagamento": {
            "valor": str(chosen.amount),
            "infoPagador": chosen.name,
            "idProprio": f"loja-{chosen.slug}-{uuid.uuid4().hex[:8]}",
            "recorrencia": {
                "tipo": chosen.kind,
                "dataInicio": (today + dt.timedelta(days=1)).isoformat(),  # D+1: the regulator's earliest date
                "quantidade": chosen.quantity,
            },
        },
    }
    created = client.create_plan(body, key=str(uuid.uuid4()))
    plan_id = str(created["identificadorPagamento"]).removeprefix(URN)
    request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), plan_id: today.isoformat()}
    request.session["shop_last_plan"] = plan_id
    return HttpResponseRedirect(created["redirectURI"])


@require_safe
def back_from_bank(request: HttpRequest) -> HttpResponse:
    """The merchant's redirect URL: the gateway sends the payer here with ``result=success`` or ``result=error``."""
    _enabled()
    plan_id = request.session.get("shop_last_plan")
    if not plan_id:
        return redirect("shop:index")
    target = reverse("shop:receipt", args=[plan_id])
    if request.GET.get("result") != "success":
        target += "?" + urlencode({"erro": request.GET.get("error", "") or "nao_autorizado"})
    return HttpResponseRedirect(target)


@require_safe
def receipt(request: HttpRequest, plan_id: uuid.UUID) -> HttpResponse:
    _enabled()
    created = request.session.get(SESSION_KEY, {}).get(str(plan_id))
    if created is None:
        raise Http404("Recibo não encontrado nesta sessão.")
    try:
        today, state = _today()
        listed = client.plans(created, created)
    except ShopError as exc:
        return render(request, "shop/receipt.html", {"error": exc.message}, status=502)
    plan = next((p for p in listed if p["identificadorPagamento"] == f"{URN}{plan_id}"), None)
    if plan is None:
        raise Http404("Assinatura não encontrada.")
    parcels = [
        {
            "date": _br_date(p["dataOperacao"]),
            "amount": _brl(p["valor"]),
            "status": p["status"],
            "label": PARCEL_STATUS.get(p["status"], p["status"]),
            "end_to_end_id": p["endToEndId"],
            "cancellable": p["status"] in ("pendente", "agendado") and p["dataOperacao"] > today.isoformat(),
        }
        for p in plan["recorrencias"]
    ]
    bought = offer(str(plan.get("idProprio", "")).removeprefix("loja-").rsplit("-", 1)[0])
    context = {
        "plan": plan,
        "name": bought.name if bought else plan.get("idProprio", ""),
        "plan_id": plan_id,
        "plan_label": PLAN_STATUS.get(plan["status"], plan["status"]),
        "amount": _brl(plan["valor"]) if "valor" in plan else "",
        "parcels": parcels,
        "today": today.strftime("%d/%m/%Y"),
        "clock": state,
        "ahead_days": (state or {}).get("offsetDays", 0),
        "error": {"nao_autorizado": "A assinatura não foi aprovada no banco."}.get(request.GET.get("erro", ""), "")
        or (f"O banco respondeu: {request.GET['erro']}." if request.GET.get("erro") else ""),
        "notice": request.GET.get("aviso", ""),
        "waiting": plan["status"] == "pendente" or any(p["status"] == "pendente" for p in parcels),
    }
    return render(request, "shop/receipt.html", context)


@require_POST
def next_month(request: HttpRequest, plan_id: uuid.UUID) -> HttpResponse:
    """ "Pular para o próximo mês": the sandbox clock one calendar month ahead; the platform runs the due payments
    before answering, so the receipt shows them at once."""
    _enabled()
    target = reverse("shop:receipt", args=[plan_id])
    try:
        state = client.clock_advance("P1M")
    except ShopError as exc:
        return HttpResponseRedirect(f"{target}?{urlencode({'aviso': exc.message})}")
    notice = f"Agora é {_br_date(state['today'])} no relógio do sandbox."
    return HttpResponseRedirect(f"{target}?{urlencode({'aviso': notice})}")


@require_POST
def cancel_parcel(request: HttpRequest, plan_id: uuid.UUID, end_to_end_id: str) -> HttpResponse:
    _enabled()
    target = reverse("shop:receipt", args=[plan_id])
    try:
        client.cancel(end_to_end_id)
    except ShopError as exc:
        return HttpResponseRedirect(f"{target}?{urlencode({'aviso': exc.message})}")
    return HttpResponseRedirect(f"{target}?{urlencode({'aviso': 'Parcela cancelada.'})}")
