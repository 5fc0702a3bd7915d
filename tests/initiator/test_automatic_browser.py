"""A Pix Automático consent created through the gateway and approved by the customer in a real headless Chromium on
our holder's pages; the browser comes back through the gateway to the application's callback, and the charge the
application registered is sent by beat's task (initiator.send_charges) inside its window. The schedule's other
cases (three monthly charges, limits, retries) are in test_charge_schedules.py."""

import datetime as dt
from typing import Any

import pytest

from initiator.models import InitiatorConsent, ScheduledCharge
from initiator.tasks import send_charges
from opusof.timeutil import business_date
from recurring.models import RecurringPayment
from tests.initiator.conftest import Gateway
from tests.support.browser import login_and_review, screenshot
from tests.support.recurring_bodies import ANA_CPF, automatic_consent, automatic_payment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

CONSENTS = "/opus-open-finance/automatic-payments/v1/recurring-consents"


def test_pix_automatico_approved_in_chromium_then_a_charge_sent_by_beat(
    gateway: Gateway, browser: Any, tpp_callback: str
):
    gateway.application.callback_uris = [tpp_callback]
    gateway.application.save()
    today = business_date()
    data = automatic_consent(maximum="300.00", reference_start=today)
    created = gateway.http.post(
        CONSENTS, json={"data": {"callbackApplicationUri": tpp_callback, **data}}, headers=gateway.headers()
    )
    assert created.status_code == 201, created.text
    consent_id = created.json()["data"]["recurringConsentId"]

    page = browser.new_page(viewport={"width": 390, "height": 844})
    login_and_review(page, created.json()["data"]["redirectUrl"], cpf=ANA_CPF, shot="initiator-automatic")
    assert page.inner_text("#recurring-product") == "Pix Automático"
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(f"{tpp_callback}?result=success")
    screenshot(page, "initiator-automatic-callback", full_page=False)
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert (consent.status, consent.product) == ("AUTHORISED", "automatic-payments")

    due = today + dt.timedelta(days=3)
    item = automatic_payment(day=due)
    template = {k: v for k, v in item.items() if k not in ("date", "payment", "endToEndId", "paymentReference")}
    charge = {"amount": "120.00", "dueDate": due.isoformat(), "reference": item["paymentReference"]}
    registered = gateway.http.post(
        f"{CONSENTS}/{consent_id}/charges",
        json={"data": {"payment": template, "charges": [charge]}},
        headers=gateway.headers(),
    )
    assert registered.status_code == 201, registered.text
    [scheduled] = registered.json()["data"]

    assert send_charges() == 1  # beat's entry initiator-send-charges
    assert send_charges() == 0  # the next tick: already sent
    stored = ScheduledCharge.objects.get(pk=scheduled["chargeId"])
    assert stored.status == "SENT", stored.last_error
    [at_holder] = RecurringPayment.objects.filter(consent__recurring_consent_id=consent_id)
    assert (at_holder.date, str(at_holder.amount), at_holder.status) == (due, "120.00", "SCHD")
