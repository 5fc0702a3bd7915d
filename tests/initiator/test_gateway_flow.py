"""Application → gateway → our holder → sandbox bank, every hop over real HTTP (live server)."""

from decimal import Decimal

import pytest

from initiator.models import HolderCall, InitiatorConsent, InitiatorPayment
from payments.models import PixPayment
from tests.initiator.conftest import CALLBACK, Gateway
from tests.payments.builders import consent_data, payment_item


@pytest.mark.django_db(transaction=True)
def test_immediate_payment_settles(gateway: Gateway):
    data = consent_data(amount="123.45")
    consent_id = gateway.authorise(data)
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert consent.status == "AUTHORISED"
    assert consent.access_token and "." not in consent.access_token[:10]  # Fernet text, not the token

    response = gateway.pay(consent_id, [payment_item(data)], key="pay-0001")
    assert response.status_code == 201, response.text
    assert response.headers["x-selected-regulatory-v"] == "4.0.0"
    payment_id = response.json()["data"][0]["paymentId"]

    read = gateway.get_payment(payment_id)
    assert read.status_code == 200, read.text
    assert read.json()["data"]["status"] == "ACSC"
    payment = InitiatorPayment.objects.get(payment_id=payment_id)
    assert payment.status == "ACSC"
    assert [h.to_status for h in payment.history.all()][-1] == "ACSC"
    assert PixPayment.objects.get(payment_id=payment_id).amount == Decimal("123.45")
    assert HolderCall.objects.filter(payment=payment, operation="payment-create", status_code=201).count() == 1
    assert gateway.get_consent(consent_id).json()["data"]["consent"]["data"]["status"] == "CONSUMED"
    assert CALLBACK
