"""Automatic payments v2 through the gateway against our own holder (live server, real HTTP both sides): a
sweeping consent approved on the holder's pages, a transfer on demand that settles, the same key answered with the
same payment, revocation with the regulated reasons, and every change at the application's webhook."""

from typing import Any

import httpx
import pytest

from initiator.models import ApplicationNotification, HolderCall, InitiatorConsent, InitiatorPayment
from initiator.services.notifications import notifications_deliver
from recurring.models import RecurringPayment
from tests.initiator.conftest import CALLBACK, Gateway
from tests.initiator.spec_check import assert_data_matches
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment

pytestmark = pytest.mark.django_db(transaction=True)

AP = "automatic-payments-2.0.0.yml"
CONSENTS = "/opus-open-finance/automatic-payments/v1/recurring-consents"
CONSENT_ONE = "/recurring-consents/{recurringConsentId}"
PAYMENTS = "/proxy/open-banking/automatic-payments/v2/pix/recurring-payments"


def create_recurring(gateway: Gateway, data: dict[str, Any]) -> httpx.Response:
    body = {"data": {"callbackApplicationUri": CALLBACK, **data}}
    return gateway.http.post(CONSENTS, json=body, headers=gateway.headers())


def authorise_recurring(gateway: Gateway, data: dict[str, Any]) -> str:
    created = create_recurring(gateway, data)
    assert created.status_code == 201, created.text
    assert created.headers["x-selected-regulatory-v"] == "2.0.0"
    body = created.json()["data"]
    assert_data_matches(body["consent"], path="/recurring-consents", method="post", status=201, spec=AP)
    back = gateway.follow_return(gateway.customer_decides(body["redirectUrl"]))
    assert back.status_code == 302 and back.headers["location"] == f"{CALLBACK}?result=success", back.text
    return str(body["recurringConsentId"])


def pay(gateway: Gateway, consent_id: str, item: dict[str, Any], *, key: str) -> httpx.Response:
    body = {"data": {**item, "recurringConsentId": consent_id}}
    return gateway.http.post(PAYMENTS, json=body, headers=gateway.headers(**{"x-idempotency-key": key}))


def revocation(code: str, *, by: str = "INICIADORA") -> dict[str, Any]:
    return {
        "data": {
            "status": "REVOKED",
            "revocation": {"revokedBy": by, "revokedFrom": "INICIADORA", "reason": {"code": code, "detail": "fim"}},
        }
    }


def test_sweeping_consent_transfer_on_demand_then_revoked(gateway: Gateway, app_webhook):
    hook_url, hook = app_webhook
    gateway.application.webhook_url = hook_url
    gateway.application.save()
    consent_id = authorise_recurring(gateway, sweeping_consent(total="300.00", transaction="200.00"))
    consent = InitiatorConsent.objects.get(consent_id=consent_id)
    assert (consent.product, consent.status) == ("automatic-payments", "AUTHORISED")
    assert consent.access_token.startswith("gAAAA")

    read = gateway.http.get(f"{CONSENTS}/{consent_id}", headers=gateway.headers())
    assert read.status_code == 200, read.text
    assert read.json()["data"]["recurringConsentId"] == consent_id
    assert_data_matches(
        read.json()["data"]["consent"],
        path=CONSENT_ONE,
        method="get",
        status=200,
        spec=AP,
    )
    # a payments v4 route does not see a recurring consent
    assert gateway.get_consent(consent_id).status_code == 404

    item = sweeping_payment("120.00")
    response = pay(gateway, consent_id, item, key="sweep-0001")
    assert response.status_code == 201, response.text
    assert response.headers["x-selected-regulatory-v"] == "2.0.0"
    assert_data_matches(response.json(), path="/pix/recurring-payments", method="post", status=201, spec=AP)
    payment_id = response.json()["data"]["recurringPaymentId"]
    [create] = HolderCall.objects.filter(operation="payment-create", idempotency_key="sweep-0001")
    assert create.status_code == 201

    again = pay(gateway, consent_id, item, key="sweep-0001")  # the application retries: the same payment
    assert (again.status_code, again.json()) == (201, response.json())
    other = pay(gateway, consent_id, sweeping_payment("120.00"), key="sweep-0001")  # another body, same key
    assert (other.status_code, other.json()["errors"][0]["code"]) == (422, "ERRO_IDEMPOTENCIA")
    assert HolderCall.objects.filter(operation="payment-create", idempotency_key="sweep-0001").count() == 1
    assert RecurringPayment.objects.filter(consent__recurring_consent_id=consent_id).count() == 1

    read = gateway.http.get(f"{PAYMENTS}/{payment_id}", headers=gateway.headers())
    assert read.status_code == 200, read.text
    assert_data_matches(
        read.json(), path="/pix/recurring-payments/{recurringPaymentId}", method="get", status=200, spec=AP
    )
    assert read.json()["data"]["status"] == "ACSC"
    payment = InitiatorPayment.objects.get(payment_id=payment_id)
    assert [h.to_status for h in payment.history.all()][-1] == "ACSC"
    listed = gateway.http.get(PAYMENTS, params={"recurringConsentId": consent_id}, headers=gateway.headers())
    assert listed.status_code == 200, listed.text
    assert [item["recurringPaymentId"] for item in listed.json()["data"]] == [payment_id]

    over = pay(gateway, consent_id, sweeping_payment("250.00"), key="sweep-0002")  # over the transaction limit
    assert over.status_code == 422, over.text
    assert over.headers["x-origin-error"] == "participant"
    assert [e["code"] for e in over.json()["errors"]] == ["LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO"]

    refused = gateway.http.patch(f"{CONSENTS}/{consent_id}", json=revocation("OUTRO"), headers=gateway.headers())
    assert refused.status_code == 422, refused.text
    assert not HolderCall.objects.filter(consent=consent, operation="consent-patch").exists()

    revoked = gateway.http.patch(
        f"{CONSENTS}/{consent_id}", json=revocation("REVOGADO_USUARIO", by="USUARIO"), headers=gateway.headers()
    )
    assert revoked.status_code == 200, revoked.text
    assert_data_matches(revoked.json(), path=CONSENT_ONE, method="patch", status=200, spec=AP)
    assert revoked.json()["data"]["status"] == "REVOKED"
    consent.refresh_from_db()
    assert consent.status == "REVOKED"
    assert list(consent.history.order_by("pk").values_list("actor", flat=True))[-1] == "application:patch"

    notifications_deliver()
    changes = {(b["data"]["type"], b["data"]["id"], b["data"]["status"]) for b in hook.received}
    assert ("INITIATOR_CONSENT", consent_id, "AUTHORISED") in changes
    assert ("INITIATOR_CONSENT", consent_id, "REVOKED") in changes
    assert ("INITIATOR_PAYMENT", payment_id, "ACSC") in changes
    assert ApplicationNotification.objects.filter(state="PENDING").count() == 0
