"""The pages people look at, in headless Chromium against a live server: the consent review and "Minhas
autorizações" at desktop and phone widths speak Portuguese (statuses, account types, the bank's name and ISPB,
Brasília times; screenshots in var/test-artifacts/), and no served or docs page asks any other host for anything."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Browser, ViewportSize

from opusof.timeutil import business_date, business_tz
from payments.models import PixPayment
from tests.support.browser import login_and_review, screenshot
from tests.support.oauth_tpp import fragment
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, consent_data, own, payment_item

pytestmark = pytest.mark.browser

WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def paid_and_scheduled(live_oauth, live_server, tpp_callback, browser: Browser, v4):
    """Ana approves one consent in the browser (and it is paid with the code's token); a second one, scheduled,
    is authorised and paid in-process. Returns the logged-in page and both payment ids."""
    http_v4 = type(v4)(tpp=live_oauth.actor, token=live_oauth.client_credentials())
    data = consent_data(amount="1336.00")  # settles at once in the sandbox
    consent_id = http_v4.create_consent(data)
    flow = live_oauth.start(consent_id, redirect_uri=tpp_callback)
    page = browser.new_page(viewport=WIDTHS["desktop"])
    login_and_review(page, live_server.url + flow.authorize_url(live_oauth.client_id), cpf=ANA_CPF, shot="ptbr")
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(tpp_callback + "#*")
    token = live_oauth.exchange(fragment(page.url)["code"], flow).json()["access_token"]
    _, paid = http_v4.post_payments(consent_id, [payment_item(data)], token=token)
    day = business_date() + dt.timedelta(days=3)
    scheduled_data = consent_data(schedule={"single": {"date": day.isoformat()}})
    scheduled_consent = v4.authorised_consent(scheduled_data, debtor=own(ANA_ACCOUNT))
    _, scheduled = v4.post_payments(scheduled_consent, [payment_item(scheduled_data, day=day)])
    return page, paid["data"][0]["paymentId"], scheduled["data"][0]["paymentId"]


@pytest.mark.parametrize("width", WIDTHS)
def test_consent_review_speaks_portuguese(live_oauth, live_server, tpp_callback, browser: Browser, v4, width):
    http_v4 = type(v4)(tpp=live_oauth.actor, token=live_oauth.client_credentials())
    consent_id = http_v4.create_consent(consent_data(amount="250.00"))
    flow = live_oauth.start(consent_id, redirect_uri=tpp_callback)
    page = browser.new_page(viewport=WIDTHS[width])

    login_and_review(
        page, live_server.url + flow.authorize_url(live_oauth.client_id), cpf=ANA_CPF, shot=f"ptbr-review-{width}"
    )

    current = page.inner_text("label[for=account-10000001]")
    savings = page.inner_text("label[for=account-10000002]")
    assert current.startswith("Conta corrente ·") and savings.startswith("Poupança ·")
    assert "CACC" not in page.inner_text("#consent-form") and "SVGS" not in page.inner_text("#consent-form")
    assert page.inner_text("#bank") == f"{settings.OPUSOF_BANK_NAME} · Open Finance"
    assert f"ISPB {settings.OPUSOF_ISPB}" in page.inner_text("#bank-ispb")
    deadline = page.inner_text("#expires-at")
    assert deadline.endswith("(horário de Brasília)")
    shown = dt.datetime.strptime(deadline.split(" (")[0], "%d/%m/%Y %H:%M").replace(tzinfo=business_tz())
    from consents.models import PaymentConsent

    expires = PaymentConsent.objects.get(consent_id=consent_id).expires_at
    assert abs(shown - expires) < dt.timedelta(minutes=1)
    if width == "phone":  # nothing wider than the phone's screen
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"]["width"]


def test_my_authorisations_show_portuguese_statuses_at_both_widths(paid_and_scheduled, live_server):
    page, paid_id, scheduled_id = paid_and_scheduled
    assert PixPayment.objects.get(payment_id=paid_id).status == "ACSC"
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto(live_server.url + "/minhas-autorizacoes/")
        screenshot(page, f"ptbr-my-authorisations-{width}")
        statuses = {
            row.get_attribute("data-payment-id"): row.locator(".payment-status").inner_text()
            for row in page.locator("tr.payment").all()
        }
        assert statuses[paid_id] == "Pago"
        assert statuses[scheduled_id] == "Agendado"
        consent_statuses = set(page.locator(".consent-status").all_inner_texts())
        assert consent_statuses == {"Utilizado"}  # both consents were consumed by their payment
        assert "ACSC" not in page.inner_text("main") and "SCHD" not in page.inner_text("main")
        assert "criado em" in page.inner_text(".consent >> nth=0")


# --- nothing from another host ------------------------------------------------------------------------------------


def test_no_page_requests_another_host(live_oauth, live_server, tpp_callback, browser: Browser, v4, admin_user):
    own_host = urlsplit(live_server.url).netloc
    http_v4 = type(v4)(tpp=live_oauth.actor, token=live_oauth.client_credentials())
    flow = live_oauth.start(http_v4.create_consent(consent_data()), redirect_uri=tpp_callback)
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(f"{request.url} {request.failure}"))
    visits = [
        ("/", None),
        ("/api/docs/", ".swagger-ui .info"),
        ("/api/redoc/", "[role=search], .api-content"),
        ("/open-banking/payments/v4/", None),
        ("/minhas-autorizacoes/entrar", None),
        (flow.authorize_url(live_oauth.client_id), "#login-form"),
        ("/admin/login/", None),
    ]
    for path, selector in visits:
        page.goto(live_server.url + path, wait_until="networkidle")
        if selector:
            page.wait_for_selector(selector, timeout=30_000)
            page.wait_for_load_state("networkidle")
        screenshot(page, "offline-" + (path.strip("/").replace("/", "-").split("?")[0] or "index"))
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard")
    screenshot(page, "admin-dashboard")
    page.goto(live_server.url + "/admin/payments/pixpayment/", wait_until="networkidle")

    assert len(requested) > 10
    foreign = [
        url for url in requested if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != own_host
    ]
    assert foreign == [], failed
