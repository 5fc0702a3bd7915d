"""The customer's journey in a real headless Chromium: the application sends them to the URL the gateway answered,
they approve on our holder's pages, the holder sends the browser back to the gateway, which sends it on to the
application's callback with ``result=success``; and DCM at the holder over HTTP."""

from typing import Any

import pytest

from initiator.models import HolderCall, HolderRegistration, InitiatorConsent
from opusof.models import TppClient
from tests.initiator.conftest import Gateway, make_application
from tests.support.browser import login_and_review, screenshot
from tests.support.payment_bodies import ANA_CPF, consent_data, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.browser
@pytest.mark.parametrize("jarm", [True, False], ids=["jarm-query", "hybrid-fragment"])
def test_customer_approves_in_chromium_and_lands_on_the_applications_callback(
    gateway: Gateway, browser: Any, tpp_callback: str, settings: Any, jarm: bool
):
    settings.INITIATOR_PREFER_JARM = jarm
    gateway.application.callback_uris = [tpp_callback]
    gateway.application.save()
    data = consent_data(amount="77.70")
    created = gateway.http.post(
        "/opus-open-finance/payments/v1/consents",
        json={"data": {"callbackApplicationUri": tpp_callback, **data}},
        headers=gateway.headers(),
    )
    assert created.status_code == 201, created.text
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login_and_review(page, created.json()["data"]["redirectUrl"], cpf=ANA_CPF, shot="initiator-approve")
    assert page.inner_text("#amount") == "R$ 77,70"
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(f"{tpp_callback}?result=success")
    screenshot(page, "initiator-callback", full_page=False)
    consent_id = created.json()["data"]["consentId"]
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert (consent.status, consent.response_mode) == ("AUTHORISED", "jwt" if jarm else "fragment")
    paid = gateway.pay(consent_id, [payment_item(data)], key="browser-1")
    assert paid.status_code == 201, paid.text


def test_dcm_updates_our_registration_at_the_holder(gateway: Gateway):
    gateway.authorise(consent_data())  # registers at the holder on first use
    registration = HolderRegistration.objects.get()
    client = TppClient.objects.get(client_id=registration.client_id)
    read = gateway.http.get("/opus-open-finance/dcm", headers=gateway.headers())
    assert read.status_code == 200
    assert read.json()["data"][0]["dcmVersion"] == "1"

    assert not any(uri.endswith("/redirect-uri/app-tres") for uri in client.redirect_uris)
    make_application(str(gateway.http.base_url), "app-tres")  # a new app's redirect URI must reach the holder
    updated = gateway.http.put("/opus-open-finance/dcm", json={"data": {"version": "2"}}, headers=gateway.headers())
    assert updated.status_code == 200, updated.text
    [item] = updated.json()["data"]
    assert (item["dcmVersion"], item["status"]) == ("2", "success")
    client.refresh_from_db()
    assert any(uri.endswith("/redirect-uri/app-tres") for uri in client.redirect_uris)
    assert HolderCall.objects.filter(operation="dcm", method="PUT", status_code=200).count() == 1
    assert client.organisation_id == "5f1c2a9e-8b7d-4c3e-9a61-0d2e4b6f8a10"
