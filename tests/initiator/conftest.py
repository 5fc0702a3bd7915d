"""The gateway against our own holder over real HTTP: the live server runs both sides; the holder is just the
participant listed at the live server's URL.

    def test_x(gateway):
        consent = gateway.create_consent(consent_body())
        gateway.approve(consent["data"]["redirectUrl"])
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from initiator.models import Application
from initiator.services.applications import application_create
from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID, participants_refresh
from tests.initiator.holder_proxy import HolderProxy, holder_proxy
from tests.support.oauth_tpp import customer_decides
from tests.support.payment_bodies import ANA_CPF

CALLBACK = "https://app.example.com/pagamento/retorno"


@dataclass
class Gateway:
    """One application calling the gateway over HTTP, and a customer's browser session at the holder."""

    http: httpx.Client
    application: Application
    credential: str
    server_id: str = OWN_AUTHORISATION_SERVER_ID
    holder_url: str = ""
    customer: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.customer = httpx.Client(base_url=self.holder_url or self.http.base_url, timeout=30)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "x-application-id": str(self.application.pk),
            "authorization": f"Bearer {self.credential}",
            "x-authorisation-server-id": self.server_id,
            **extra,
        }

    def create_consent(self, data: dict[str, Any], **headers: str) -> httpx.Response:
        body = {"data": {"callbackApplicationUri": CALLBACK, **data}}
        return self.http.post("/opus-open-finance/payments/v1/consents", json=body, headers=self.headers(**headers))

    def get_consent(self, consent_id: str) -> httpx.Response:
        return self.http.get(f"/opus-open-finance/payments/v1/consents/{consent_id}", headers=self.headers())

    def customer_decides(self, authorisation_url: str, *, action: str = "approve") -> str:
        """The customer at the holder's pages; returns where the holder sends the browser back (our redirect URI)."""
        account = "10000001" if action == "approve" else None
        final = customer_decides(self.customer, authorisation_url, cpf=ANA_CPF, action=action, account=account)
        assert final.status_code == 302, final.text
        return str(final.headers["location"])

    def follow_return(self, location: str) -> httpx.Response:
        """The browser path: our redirect URI answers 302 to the application's callback."""
        parts = urlsplit(location)
        return self.http.get(f"{parts.path}?{parts.query}")

    def authorise(self, data: dict[str, Any]) -> str:
        created = self.create_consent(data)
        assert created.status_code == 201, created.text
        body = created.json()["data"]
        back = self.follow_return(self.customer_decides(body["redirectUrl"]))
        assert back.status_code == 302 and back.headers["location"] == f"{CALLBACK}?result=success", back.text
        return str(body["consentId"])

    def pay(self, consent_id: str, items: list[dict[str, Any]], *, key: str, **headers: str) -> httpx.Response:
        return self.http.post(
            "/proxy/open-banking/payments/v4/pix/payments",
            json={"data": items},
            headers=self.headers(**{"x-consent-id": consent_id, "x-idempotency-key": key, **headers}),
        )

    def get_payment(self, payment_id: str) -> httpx.Response:
        return self.http.get(f"/proxy/open-banking/payments/v4/pix/payments/{payment_id}", headers=self.headers())


def holder_at(settings: Any, base_url: str) -> None:
    """The holder's public base URL (issuer, `aud` of requests) and the gateway's, as a deployment sets them."""
    settings.OPUSOF_BASE_URL = base_url
    settings.INITIATOR_BASE_URL = base_url
    participants_refresh(source="")


def make_application(base_url: str, name: str, *, webhook_url: str = "") -> tuple[Application, str]:
    return application_create(
        name=name,
        fqdn=urlsplit(base_url).netloc,
        redirect_identifier=name,
        callback_uris=[CALLBACK],
        webhook_url=webhook_url,
    )


@pytest.fixture
def gateway(live_server: Any, settings: Any, demo_bank: dict[str, Any]) -> Iterator[Gateway]:
    holder_at(settings, live_server.url)
    application, credential = make_application(live_server.url, "app-um")
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield Gateway(http=http, application=application, credential=credential)


@pytest.fixture
def proxied_gateway(
    live_server: Any, settings: Any, demo_bank: dict[str, Any]
) -> Iterator[tuple[Gateway, HolderProxy]]:
    """The gateway (at the live server) and our holder behind a reverse proxy the test controls."""
    with holder_proxy(live_server.url) as proxy:
        settings.OPUSOF_BASE_URL = proxy.url
        settings.INITIATOR_BASE_URL = live_server.url
        participants_refresh(source="")
        application, credential = make_application(live_server.url, "app-proxy")
        with httpx.Client(base_url=live_server.url, timeout=60) as http:
            yield Gateway(http=http, application=application, credential=credential, holder_url=proxy.url), proxy


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Tasks run where they are enqueued (the holder's webhook delivery, the gateway's read-back and forwarding),
    as a worker would run them, without one."""
    from opusof.celery import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def other_application(gateway: Gateway) -> Gateway:
    application, credential = make_application(str(gateway.http.base_url), "app-dois")
    return Gateway(http=gateway.http, application=application, credential=credential)


class ApplicationWebhook:
    """The application's webhook endpoint: a real HTTP server recording what the gateway posts."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()


@pytest.fixture
def app_webhook() -> Iterator[tuple[str, ApplicationWebhook]]:
    import json

    hook = ApplicationWebhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            with hook.lock:
                hook.received.append(json.loads(self.rfile.read(length)))
                hook.headers.append(dict(self.headers))
            self.send_response(202)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks", hook
    finally:
        server.shutdown()
        server.server_close()
