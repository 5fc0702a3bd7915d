"""The demo shop end to end in a real headless Chromium (docs/shop.md): plans → the payer's bank → the bank's
consent page → the receipt → "pular para o próximo mês" moves the sandbox clock, and the first parcel is paid at the
holder and shown paid on the receipt; then a later parcel is cancelled from the receipt."""

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID
from merchant.models import Plan
from merchant.services.merchants import merchant_create
from merchant.services.plans import plans_sync_open
from opusof import clock
from payments.models import PixPayment
from shop import client as shop_client
from tests.initiator.conftest import holder_at
from tests.support.browser import screenshot
from tests.support.payment_bodies import ANA_CPF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(live_server: Any, settings: Any, demo_bank: dict[str, Any]) -> Iterator[str]:
    """The platform at the live server's URL, the shop's merchant created as `manage.py load_demo` does."""
    holder_at(settings, live_server.url)
    settings.SHOP_MERCHANT_API_URL = live_server.url
    shop_client.forget_token()
    merchant_create(
        name="Loja Exemplo",
        redirect_url=f"{live_server.url}/loja/retorno",
        client_id=settings.SHOP_CLIENT_ID,
        client_secret=settings.SHOP_CLIENT_SECRET,
    )
    yield f"{live_server.url}/loja/"
    shop_client.forget_token()
    cache.delete(clock.CACHE_KEY)
    clock.forget_local()


@pytest.mark.browser
def test_subscribe_approve_then_next_month_pays_the_first_parcel(shop: str, browser: Any, eager_celery: None):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(shop)
    screenshot(page, "shop-plans")
    page.click("#subscribe-cafe")
    page.check(f"input[name=bank][value='{OWN_AUTHORISATION_SERVER_ID}']")
    assert page.input_value("#cpf") == ANA_CPF
    start = clock.today() + dt.timedelta(days=1)

    # The shop sends the payer to the bank's consent page; they log in, pick the account and approve
    page.click("#pay-button")
    page.fill("#cpf", ANA_CPF)
    page.fill("#password", "demo1234")
    page.click("#login-button")
    page.wait_for_selector("#consent-button")
    screenshot(page, "shop-consent-review")
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(re.compile(r".*/loja/recibo/[0-9a-f-]{36}$"))
    plan = Plan.objects.get()
    assert page.get_attribute("#plan-status", "data-status") == "pendente"  # beat has not scheduled the parcels yet
    assert page.is_visible("#waiting")

    # Beat's merchant sweep schedules one Pix per month at the holder; the receipt follows
    assert plans_sync_open() == 1
    page.reload()
    screenshot(page, "shop-receipt-scheduled")
    assert page.get_attribute("#plan-status", "data-status") == "ativa"
    assert [page.get_attribute(f"#parcel-{n}", "data-status") for n in (1, 2, 3)] == ["agendado"] * 3
    at_holder = PixPayment.objects.filter(consent__consent_id=plan.consent_id).order_by("scheduled_date")
    assert at_holder.first().scheduled_date == start  # type: ignore[union-attr]
    assert list(at_holder.values_list("status", flat=True)) == ["SCHD"] * 3

    # "Pular para o próximo mês": the clock moves, the platform runs the due payments before answering
    page.click("#next-month")
    page.wait_for_selector("#notice")
    screenshot(page, "shop-receipt-next-month")
    assert clock.today() >= start
    assert "no relógio do sandbox" in page.inner_text("#notice")
    assert [page.get_attribute(f"#parcel-{n}", "data-status") for n in (1, 2, 3)] == [
        "efetivado",
        "agendado",
        "agendado",
    ]
    assert page.inner_text("#parcel-1 td:nth-child(3)") == "Paga"
    assert page.inner_text("#plan-name") == "Clube do Café · R$ 29,90 por parcela"
    assert list(at_holder.values_list("status", flat=True)) == ["ACSC", "SCHD", "SCHD"]

    # A later parcel cancelled from the receipt is cancelled at the holder
    page.click("#cancel-3")
    page.wait_for_selector("#notice")
    assert page.inner_text("#notice") == "Parcela cancelada."
    assert page.get_attribute("#parcel-3", "data-status") == "cancelado"
    assert list(at_holder.values_list("status", flat=True)) == ["ACSC", "SCHD", "CANC"]
    assert not page.is_visible("#cancel-1")  # a paid parcel offers no cancellation


def test_the_shop_is_not_served_where_it_is_switched_off(db: None, settings: Any):
    settings.SHOP_ENABLED = False
    assert Client().get("/loja/").status_code == 404
    assert Client().get("/loja/assinar/cafe").status_code == 404
