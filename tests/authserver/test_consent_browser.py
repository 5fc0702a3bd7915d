"""The consent journey in a real headless Chromium (Debian ``chromium`` driven by Playwright) against a live server:
the TPP talks HTTP to the live server's OAuth endpoints and is redirected to its own local HTTP server. Screenshots
land in var/test-artifacts/."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from consents.models import PaymentConsent
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.support.browser import login_and_review, screenshot
from tests.support.oauth_tpp import OAuthTpp, fragment, half_hash, verify_id_token
from tests.support.payment_bodies import ANA_CPF, consent_data, payment_item
from tests.support.payments_v4 import PaymentsV4

pytestmark = pytest.mark.browser


@pytest.fixture
def journey(live_oauth: OAuthTpp, live_server, tpp_callback):
    """The TPP over HTTP to the live server, with payments v4 driven as that TPP."""
    v4 = PaymentsV4(tpp=live_oauth.actor, token=live_oauth.client_credentials())
    return live_oauth, v4, live_server.url, tpp_callback


def _login_and_review(page: Page, base_url: str, authorize_path: str, name: str) -> None:
    login_and_review(page, base_url + authorize_path, cpf=ANA_CPF, shot=name)


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
    screenshot(page, "approve-callback", full_page=False)
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
    screenshot(page, "deny-callback", full_page=False)
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
    screenshot(page, "expiry-callback", full_page=False)
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
    screenshot(page, "my-authorisations")
    page.click(f"#cancel-link-{payment_id}")
    page.click("#cancel-button")
    page.wait_for_url(base_url + "/minhas-autorizacoes/")
    screenshot(page, "my-authorisations-cancelled")
    payment = PixPayment.objects.get(payment_id=payment_id)
    assert payment.status == "CANC"
    assert payment.cancelled_from == "DETENTORA"
    fetched = v4.get_payment(payment_id)
    assert fetched["status"] == "CANC"
    assert fetched["cancellation"]["cancelledBy"]["document"]["identification"] == ANA_CPF
