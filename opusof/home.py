"""What a person (or a TPP's engineer) finds at the platform's front door: ``/``, a pt-BR index of every public
address, and a JSON description at each API's base path. The same list feeds ``run_platform``'s startup banner,
so the page, the banner and the README name the same addresses.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.decorators.http import require_safe


@dataclass(frozen=True)
class Address:
    path: str
    banner: str  # English, for the operator's terminal
    title: str  # pt-BR, for the index page
    login: str = ""  # the demo login (manage.py load_demo), same in both languages


ADDRESSES: tuple[Address, ...] = (
    Address("/", "Index", "Início"),
    Address("/loja/", "Demo shop (pt-BR)", "Loja de demonstração: assinatura por Pix agendado, do plano ao recibo"),
    Address("/open-banking/payments/v4/", "Payments v4 API", "API de pagamentos v4 (Pix, agendamentos)"),
    Address(
        "/open-banking/automatic-payments/v2/",
        "Automatic payments v2 API",
        "API de pagamentos automáticos v2 (Pix Automático, transferências inteligentes)",
    ),
    Address(
        "/open-banking/enrollments/v2/",
        "Enrollments v2 API",
        "API de vínculos de dispositivo v2 (pagamentos sem redirecionamento)",
    ),
    Address("/api/docs/", "Swagger UI", "Documentação das APIs (Swagger UI)"),
    Address("/api/redoc/", "Redoc", "Documentação das APIs (Redoc)"),
    Address("/api/schema/", "OpenAPI schema", "Esquema OpenAPI"),
    Address(
        "/minhas-autorizacoes/",
        "Minhas autorizações (customers)",
        "Minhas autorizações: consentimentos, pagamentos agendados e vínculos do cliente",
        "CPF 12345678909 / demo1234",
    ),
    Address("/admin/", "Admin (staff)", "Administração (equipe do banco)", "admin / admin"),
    Address("/health", "Health", "Saúde da plataforma (JSON)"),
    Address("/.well-known/openid-configuration", "OIDC discovery", "Servidor de autorização (OIDC discovery)"),
    Address("/.well-known/jwks.json", "Published JWKS", "Chaves públicas de assinatura (JWKS)"),
)

# The regulator's file each API base path implements (specs/ofb/).
APIS: dict[str, dict[str, str]] = {
    "payments-v4": {
        "name": "Open Finance Brasil payments",
        "version": "4.0.0",
        "spec": "specs/ofb/payments-4.0.0.yml",
        "prefix": "open-banking/payments/v4/",
    },
    "automatic-payments-v2": {
        "name": "Open Finance Brasil automatic payments",
        "version": "2.0.0",
        "spec": "specs/ofb/automatic-payments-2.0.0.yml",
        "prefix": "open-banking/automatic-payments/v2/",
    },
    "enrollments-v2": {
        "name": "Open Finance Brasil enrollments",
        "version": "2.1.0",
        "spec": "specs/ofb/enrollments-2.1.0.yml",
        "prefix": "open-banking/enrollments/v2/",
    },
}


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    base = settings.OPUSOF_BASE_URL
    addresses = [address for address in ADDRESSES if address.path != "/"]
    # The demo logins (manage.py load_demo) are shown only where the sandbox runs: never in production.
    context = {"addresses": addresses, "base_url": base, "demo": settings.OPUSOF_SANDBOX_SCENARIOS}
    return render(request, "opusof/index.html", context)


def _operations(prefix: str) -> list[dict[str, Any]]:
    """Every route under ``prefix`` with the methods its view answers, read from the URLconf itself."""
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == prefix:
            return [_operation(prefix, pattern) for pattern in entry.url_patterns if isinstance(pattern, URLPattern)]
    return []


def _operation(prefix: str, pattern: URLPattern) -> dict[str, Any]:
    view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    methods = [
        method.upper()
        for method in getattr(view_class, "http_method_names", [])
        if method not in {"options", "head"} and hasattr(view_class, method)
    ]
    return {"path": "/" + prefix + _PARAMETER.sub(_spec_parameter, str(pattern.pattern)), "methods": methods}


_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>", re.ASCII)


def _spec_parameter(match: re.Match[str]) -> str:
    """``<str:consent_id>`` as the yml spells it: ``{consentId}``."""
    first, *rest = match.group(1).split("_")
    return "{" + first + "".join(word.title() for word in rest) + "}"


@require_safe
def api_root(request: HttpRequest, api: str) -> JsonResponse:
    """What lives under an API's base path; the operations themselves answer the regulated bodies."""
    described = APIS[api]
    body = {
        "api": described["name"],
        "version": described["version"],
        "specification": described["spec"],
        "baseUrl": f"{settings.OPUSOF_BASE_URL}/{described['prefix']}",
        "operations": _operations(described["prefix"]),
        "documentation": {"swagger": "/api/docs/", "redoc": "/api/redoc/", "openapi": "/api/schema/"},
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


# The API docs pages load only what this server serves (drf-spectacular-sidecar's assets, the schema). A request
# to another host would fail offline and tell that host who reads our docs; the policy forbids any.
OFFLINE_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def offline_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps a docs page's view (Swagger UI, Redoc) with :data:`OFFLINE_DOCS_CSP`."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = OFFLINE_DOCS_CSP
        return response

    return wrapper


# Redoc's bundle (drf-spectacular-sidecar) shows its vendor's logo from a CDN in the menu whatever the options; the
# bundle is served with that image replaced by an empty inline one, so the browser never even tries the CDN.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
_REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@lru_cache(maxsize=1)
def _redoc_bundle() -> bytes:
    path = finders.find(REDOC_BUNDLE)
    if not isinstance(path, str):
        raise Http404("Redoc bundle not installed")
    return Path(path).read_bytes().replace(_REDOC_LOGO.encode(), _EMPTY_SVG.encode())


@require_safe
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_redoc_bundle(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
