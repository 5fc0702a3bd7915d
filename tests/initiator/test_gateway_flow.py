"""Application → gateway → our holder → sandbox bank, every hop over real HTTP (live server)."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from initiator.models import HolderCall, InitiatorConsent, InitiatorPayment
from payments.models import PixPayment
from tests.initiator.conftest import Gateway
from tests.initiator.spec_check import assert_data_matches
from tests.support.payment_bodies import consent_data, payment_item


@pytest.mark.django_db(transaction=True)
def test_immediate_payment_settles(gateway: Gateway):
    data = consent_data(amount="123.45")
    consent_id = gateway.authorise(data)
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert consent.status == "AUTHORISED"
    assert consent.access_token.startswith("gAAAA")  # a Fernet token, not the holder's token
    assert consent.history.get().actor == "authorisation-return"

    item = payment_item(data)
    interaction_id = str(uuid.uuid4())
    response = gateway.pay(consent_id, [item], key="pay-0001", **{"x-fapi-interaction-id": interaction_id})
    assert response.status_code == 201, response.text
    assert response.headers["x-selected-regulatory-v"] == "4.0.0"
    assert_data_matches(response.json(), path="/pix/payments", method="post", status=201)
    payment_id = response.json()["data"][0]["paymentId"]

    read = gateway.get_payment(payment_id)
    assert read.status_code == 200, read.text
    assert_data_matches(read.json(), path="/pix/payments/{paymentId}", method="get", status=200)
    assert read.json()["data"]["status"] == "ACSC"
    payment = InitiatorPayment.objects.get(payment_id=payment_id)
    assert payment.status == "ACSC"
    assert [h.to_status for h in payment.history.all()][-1] == "ACSC"
    assert PixPayment.objects.get(payment_id=payment_id).amount == Decimal("123.45")

    again = gateway.pay(consent_id, [item], key="pay-0001")  # the application retries: the same payment
    assert (again.status_code, again.json()) == (201, response.json())
    assert PixPayment.objects.filter(end_to_end_id=item["endToEndId"]).count() == 1
    [create] = HolderCall.objects.filter(payment=payment, operation="payment-create")
    assert (create.interaction_id, create.idempotency_key, create.status_code) == (interaction_id, "pay-0001", 201)
    read_back = gateway.get_consent(consent_id)  # stale after the payment: read from the holder
    assert read_back.headers["x-selected-regulatory-v"] == "4.0.0"
    assert_data_matches(read_back.json()["data"]["consent"], path="/consents/{consentId}", method="get", status=200)
    assert read_back.json()["data"]["consent"]["data"]["status"] == "CONSUMED"
    cached = gateway.get_consent(consent_id).json()["data"]["consent"]  # fresh: our verified copy, same shape
    assert cached["data"] == read_back.json()["data"]["consent"]["data"]
    assert cached["links"]["self"].endswith(f"/open-banking/payments/v4/consents/{consent_id}")

    listed = gateway.http.get(f"/backoffice/consents/{consent_id}/payments", headers=gateway.headers())
    assert listed.json()["data"][0]["regulatoryData"]["paymentData"]["status"] == "ACSC"
    assert listed.json()["meta"]["totalRecords"] == 1


@pytest.mark.django_db(transaction=True)
def test_staff_see_history_and_holder_calls_in_the_admin(gateway: Gateway):
    data = consent_data(amount="10.00")
    consent_id = gateway.authorise(data)
    gateway.pay(consent_id, [payment_item(data)], key="admin-1")
    gateway.get_consent(consent_id)  # stale after the payment: read back, now CONSUMED
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client = Client()
    client.force_login(staff)
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    page = client.get(f"/admin/initiator/initiatorconsent/{consent.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "AWAITING_AUTHORISATION" in html and "AUTHORISED" in html
    assert "consent-create" in html and "par" in html
    assert consent.calls.earliest("created_at").interaction_id in html
    payment = InitiatorPayment.objects.get(idempotency_key="admin-1")
    html = client.get(f"/admin/initiator/initiatorpayment/{payment.pk}/change/").content.decode()
    assert "payment-create" in html and "SUBMITTING" in html
    listing = client.get("/admin/initiator/initiatorconsent/", {"status__exact": "CONSUMED"})
    assert consent_id in listing.content.decode()
    assert client.get("/admin/initiator/participant/").status_code == 200
    assert client.get("/admin/initiator/holdercall/", {"operation": "payment-create"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_expired_consent_token_is_refreshed_before_the_payment(gateway: Gateway):
    data = consent_data(amount="33.00")
    consent_id = gateway.authorise(data)
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert consent.refresh_token, "the holder issued no refresh token"
    InitiatorConsent.objects.filter(pk=consent.pk).update(access_token_expires_at=consent.created_at)
    response = gateway.pay(consent_id, [payment_item(data)], key="refresh-1")
    assert response.status_code == 201, response.text
    refreshed = InitiatorConsent.objects.get(pk=consent.pk)
    assert refreshed.access_token != consent.access_token
    assert refreshed.access_token_expires_at is not None and refreshed.access_token_expires_at > consent.created_at
    assert HolderCall.objects.filter(consent=consent, operation="token").count() >= 2  # code exchange, refresh
