"""The consent journey in a real headless Chromium (Debian ``chromium`` driven by Playwright) against a live server:
the TPP talks HTTP to the live server's OAuth endpoints and is redirected to its own local HTTP server. Screenshots
land in var/test-artifacts/."""

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, Page, sync_playwright

from consents.models import PaymentConsent
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.authserver.oauth_tpp import OAuthTpp, fragment, half_hash, verify_id_token
from tests.payments.builders import ANA_CPF, consent_data, payment_item
from tests.payments.v4 import PaymentsV4

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


class _TppCallback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>TPP</title><body id='tpp-callback'>TPP callback</body>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tpp_callback() -> Iterator[str]:
    """The TPP's redirect URI: a real local HTTP server (the browser must land somewhere)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TppCallback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test does)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        assert launched.version
        yield launched
        launched.close()
        # Playwright's sync API runs the test in a greenlet with its own context, so Django (asgiref Local) opened
        # a second database connection there; close it, or the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def journey(live_server, tpp, demo_bank, tpp_callback):
    """A TPP with the local callback registered, talking HTTP to the live server."""
    tpp.client.redirect_uris = [tpp_callback]
    tpp.client.save()
    oauth = OAuthTpp(actor=tpp, http=httpx.Client(base_url=live_server.url, timeout=30))
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    yield oauth, v4, live_server.url, tpp_callback
    oauth.http.close()


def _login_and_review(page: Page, base_url: str, authorize_path: str, name: str) -> None:
    page.goto(base_url + authorize_path)
    page.fill("#cpf", ANA_CPF)
    page.fill("#password", "demo1234")
    page.click("#login-button")
    page.wait_for_selector("#consent-button")
    page.screenshot(path=str(ARTIFACTS / f"{name}-review.png"), full_page=True)


def test_browser_approve_pay_and_status(journey, browser):
    oauth, v4, base_url, callback = journey
    data = consent_data(amount="123.45")
    consent_id = v4.create_consent(data)
    flow = oauth.start(consent_id, redirect_uri=callback)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    _login_and_review(page, base_url, flow.authorize_url(oauth.client_id), "approve")
    assert page.inner_text("#creditor-name") == "Loja Exemplo Comercio Ltda"
    assert page.inner_text("#amount") == "R$ 123,45"
    assert page.inner_text("#creditor-document") == "12.345.678/0001-95"
    # the salary account may not pay, so it is not offered
    assert page.locator("#account-10000003").count() == 0
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(callback + "#*")
    page.screenshot(path=str(ARTIFACTS / "approve-callback.png"))
    params = fragment(page.url)
    assert params["state"] == flow.state
    assert verify_id_token(params["id_token"], audience=oauth.client_id)["c_hash"] == half_hash(params["code"])
    tokens = oauth.exchange(params["code"], flow)
    assert tokens.status_code == 200, tokens.text
    response, body = v4.post_payments(consent_id, [payment_item(data)], token=tokens.json()["access_token"])
    assert response.status_code == 201, body
    assert v4.get_payment(body["data"][0]["paymentId"])["status"] == "ACSC"


def test_browser_deny(journey, browser):
    oauth, v4, base_url, callback = journey
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id, redirect_uri=callback)
    page = browser.new_page()
    _login_and_review(page, base_url, flow.authorize_url(oauth.client_id), "deny")
    page.click("#deny-button")
    page.wait_for_url(callback + "#*")
    page.screenshot(path=str(ARTIFACTS / "deny-callback.png"))
    params = fragment(page.url)
    assert params["error"] == "access_denied"
    assert "code" not in params
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "REJEITADO_USUARIO"


def test_browser_consent_expires_while_reviewing(journey, browser):
    oauth, v4, base_url, callback = journey
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id, redirect_uri=callback)
    page = browser.new_page()
    _login_and_review(page, base_url, flow.authorize_url(oauth.client_id), "expiry")
    # the customer took longer than the 5-minute authorisation window
    PaymentConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(callback + "#*")
    page.screenshot(path=str(ARTIFACTS / "expiry-callback.png"))
    assert fragment(page.url)["error"] == "access_denied"
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"


def test_browser_customer_cancels_scheduled_payment(journey, browser):
    oauth, v4, base_url, callback = journey
    day = business_date() + dt.timedelta(days=5)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.create_consent(data)
    flow = oauth.start(consent_id, redirect_uri=callback)
    page = browser.new_page()
    _login_and_review(page, base_url, flow.authorize_url(oauth.client_id), "schedule")
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(callback + "#*")
    tokens = oauth.exchange(fragment(page.url)["code"], flow).json()
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day)], token=tokens["access_token"])
    assert response.status_code == 201, body
    payment_id = body["data"][0]["paymentId"]
    assert body["data"][0]["status"] == "SCHD"
    # the same browser session (still logged in) opens "Minhas autorizações"
    page.goto(base_url + "/minhas-autorizacoes/")
    page.screenshot(path=str(ARTIFACTS / "my-authorisations.png"), full_page=True)
    page.click(f"#cancel-link-{payment_id}")
    page.click("#cancel-button")
    page.wait_for_url(base_url + "/minhas-autorizacoes/")
    page.screenshot(path=str(ARTIFACTS / "my-authorisations-cancelled.png"), full_page=True)
    payment = PixPayment.objects.get(payment_id=payment_id)
    assert payment.status == "CANC"
    assert payment.cancelled_from == "DETENTORA"
    fetched = v4.get_payment(payment_id)
    assert fetched["status"] == "CANC"
    assert fetched["cancellation"]["cancelledBy"]["document"]["identification"] == ANA_CPF
