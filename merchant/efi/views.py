"""The Efí dialect's endpoints: views parse, call a merchant service and render in Efí's words."""

import base64
import binascii
import datetime as dt
import re
import uuid
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from initiator.selectors import participants
from merchant import selectors
from merchant.efi import parse, render
from merchant.efi.errors import efi_exception_handler
from merchant.errors import InvalidRequest, Unauthenticated
from merchant.models import Merchant
from merchant.services.merchants import merchant_authenticate, merchant_configure, token_authenticate, token_issue
from merchant.services.plans import parcel_cancel, plan_cancel, plan_create
from opusof import clock
from opusof.timeutil import business_tz

DIALECT = "efi"
END_TO_END_ID = re.compile(r"E[0-9]{8}[0-9]{12}[a-zA-Z0-9]{11}")
PIX_PATH = "/v1/pagamentos-recorrentes/pix"
MAX_PAGE_SIZE = 1000
SCOPES = (
    "gn.opb.payment.pix.send gn.opb.payment.pix.read gn.opb.payment.pix.cancel gn.opb.payment.pix.refund "
    "gn.opb.participants.read "
    "gn.opb.config.read gn.opb.config.write"
)


class EfiApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    throttle_classes: list[Any] = []

    def get_exception_handler(self) -> Any:
        return efi_exception_handler

    def merchant(self, request: Request) -> Merchant:
        return token_authenticate(authorization=request.headers.get("authorization", ""))


class EfiTokenApi(EfiApi):
    """OAuth2 client credentials (RFC 6749 §4.4): HTTP Basic with the merchant's client id and secret."""

    parser_classes = [JSONParser, FormParser]

    def post(self, request: Request) -> Response:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Credenciais do cliente ausentes.") from None
        if scheme.lower() != "basic":
            raise Unauthenticated("Credenciais do cliente ausentes.")
        if request.data.get("grant_type") != "client_credentials":
            raise InvalidRequest("grant_type deve ser client_credentials.", field="grant_type")
        token, expires_in = token_issue(merchant=merchant_authenticate(client_id=client_id, client_secret=secret))
        return Response({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": SCOPES})


def _date_param(request: Request, name: str) -> Any:
    value = request.query_params.get(name, "")
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _missing(name)
    except ValueError:
        return _missing(name)


def _missing(name: str) -> None:
    raise InvalidRequest(f"Parâmetro {name} obrigatório no formato AAAA-MM-DD.", field=name)


def _positive(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise InvalidRequest(f"Parâmetro {name} deve ser um inteiro de 1 a {maximum}.", field=name)
    return int(raw)


class EfiRecurringPixApi(EfiApi):
    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        plan_request = parse.plan_request(request.data)
        key = request.headers.get("x-idempotency-key", "").strip() or str(uuid.uuid4())
        if len(key) > 72:
            raise InvalidRequest("x-idempotency-key deve ter até 72 caracteres.", field="x-idempotency-key")
        plan = plan_create(
            merchant=merchant,
            dialect=DIALECT,
            idempotency_key=key,
            request_hash=parse.request_hash(request.data),
            request=plan_request,
        )
        return Response({"identificadorPagamento": plan.identifier, "redirectURI": plan.redirect_uri})

    def get(self, request: Request) -> Response:
        merchant = self.merchant(request)
        first, last = _date_param(request, "inicio"), _date_param(request, "fim")
        if last < first:
            raise InvalidRequest("fim deve ser igual ou posterior a inicio.", field="fim")
        page_size = _positive(request, "quantidade", 100, MAX_PAGE_SIZE)
        page_number = _positive(request, "pagina", 1, 10**6)
        plans = selectors.plans_created_between(merchant=merchant, first=first, last=last, dialect=DIALECT)
        paginator = Paginator(plans, page_size)
        try:
            page = list(paginator.page(page_number))
        except EmptyPage:
            page = []
        pages = max(paginator.num_pages, 1)

        def link(n: int | None) -> str | None:
            if n is None:
                return None
            return f"{PIX_PATH}?inicio={first}&fim={last}&quantidade={page_size}&pagina={n}"

        return Response(
            {
                "pagamentos": [render.plan_json(plan) for plan in page],
                "total": paginator.count,
                "porPagina": page_size,
                "ultimo": link(pages),
                "proximo": link(page_number + 1 if page_number < pages else None),
                "anterior": link(page_number - 1 if 1 < page_number <= pages else None),
                "atual": link(page_number),
            }
        )


class EfiRecurringPixCancelApi(EfiApi):
    def patch(self, request: Request, identifier: str) -> Response:
        merchant = self.merchant(request)
        if END_TO_END_ID.fullmatch(identifier):  # Efí: "a valid Payment identifier or EndToEndId"
            parcel = selectors.parcel_by_end_to_end_id(merchant=merchant, end_to_end_id=identifier, dialect=DIALECT)
            parcel = parcel_cancel(plan=parcel.plan, parcel_id=str(parcel.id), actor="merchant:cancel")
            return Response(
                {
                    "identificadorPagamento": parcel.plan.identifier,
                    "endToEndId": parcel.end_to_end_id,
                    "status": render.PARCEL_STATUS[parcel.status],
                    "dataCancelamento": parcel.status_updated_at.astimezone(business_tz()).strftime(
                        "%Y-%m-%d %H:%M:%S"
                    ),
                }
            )
        plan = plan_cancel(
            plan=selectors.plan_get(merchant=merchant, identifier=identifier, dialect=DIALECT), actor="merchant:cancel"
        )
        cancelled = (plan.cancelled_at or clock.now()).astimezone(business_tz())
        return Response(
            {
                "identificadorPagamento": plan.identifier,
                "status": render.PLAN_STATUS[plan.status],
                "dataCancelamento": cancelled.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )


class EfiParticipantsApi(EfiApi):
    def get(self, request: Request) -> Response:
        self.merchant(request)
        listed = [
            {
                "identificador": p.authorisation_server_id,
                "nome": p.friendly_name,
                "descricao": p.description,
                "logo": p.logo_uri,
                "organizacao": {"nome": p.organisation_name, "cnpj": p.registration_number},
            }
            for p in participants(family_type="payments-pix")
        ]
        return Response({"participantes": listed})


class EfiConfigApi(EfiApi):
    def get(self, request: Request) -> Response:
        return Response(_config(self.merchant(request)))

    def put(self, request: Request) -> Response:
        merchant = self.merchant(request)
        body = request.data if isinstance(request.data, dict) else {}
        raw_security = body.get("webhookSecurity")
        security: dict[str, Any] = raw_security if isinstance(raw_security, dict) else {}
        updated = merchant_configure(
            merchant=merchant,
            redirect_url=str(body.get("redirectURL") or ""),
            webhook_url=str(body.get("webhookURL") or ""),
            webhook_security=str(security.get("type") or "hmac"),
            webhook_secret=str(security.get("hash") or ""),
        )
        return Response(_config(updated))


def _config(merchant: Merchant) -> dict[str, Any]:
    security: dict[str, str] = {"type": merchant.webhook_security}
    if merchant.webhook_security == "hmac":
        security["hash"] = merchant.webhook_secret
    return {
        "redirectURL": merchant.redirect_url,
        "webhookURL": merchant.webhook_url,
        "webhookSecurity": security,
        "processPayment": "async",
    }
