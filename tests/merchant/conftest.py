"""An Efí-dialect merchant calling the merchant API over real HTTP (live server); the gateway behind it reaches our
own holder at the live server's URL; the merchant's webhook endpoint is a real HTTP server.

    def test_x(efi):
        created = efi.post("/v1/pagamentos-recorrentes/pix", json=plan_body())
"""

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from merchant.models import Merchant
from merchant.services.merchants import merchant_create
from tests.initiator.conftest import eager_celery, holder_at
from tests.support.oauth_tpp import customer_decides
from tests.support.payment_bodies import ANA_CPF

__all__ = ["eager_celery"]  # the holder's and the gateway's tasks run where they are enqueued

REDIRECT_URL = "https://loja.example.com/assinatura/retorno"
WEBHOOK_SECRET = "segredo-do-webhook-da-loja"


@dataclass
class MerchantWebhookServer:
    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def merchant_webhook() -> Iterator[MerchantWebhookServer]:
    hook = MerchantWebhookServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            with hook.lock:
                hook.received.append((raw, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/efi/webhook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class EfiMerchant:
    """The shop's HTTP client (authenticated by client credentials) and its customer's browser at the bank."""

    http: httpx.Client
    merchant: Merchant
    secret: str
    customer: httpx.Client

    def token(self) -> str:
        answer = self.http.post(
            "/v1/oauth/token", json={"grant_type": "client_credentials"}, auth=(self.merchant.client_id, self.secret)
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def authorise(self, redirect_uri: str) -> str:
        """The payer approves at the bank; returns where the gateway sends the browser (the shop's redirect URL)."""
        final = customer_decides(self.customer, redirect_uri, cpf=ANA_CPF, action="approve", account="10000001")
        assert final.status_code == 302, final.text
        back = urlsplit(final.headers["location"])
        answer = self.http.get(f"{back.path}?{back.query}")
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])


@pytest.fixture
def efi(live_server: Any, settings: Any, demo_bank: dict[str, Any]) -> Iterator[EfiMerchant]:
    holder_at(settings, live_server.url)
    merchant, secret = merchant_create(name="Loja Exemplo", redirect_url=REDIRECT_URL)
    with (
        httpx.Client(base_url=live_server.url, timeout=60) as http,
        httpx.Client(base_url=live_server.url, timeout=60) as customer,
    ):
        shop = EfiMerchant(http=http, merchant=merchant, secret=secret, customer=customer)
        http.headers["authorization"] = f"Bearer {shop.token()}"
        yield shop


def json_of(raw: bytes) -> Any:
    return json.loads(raw)
