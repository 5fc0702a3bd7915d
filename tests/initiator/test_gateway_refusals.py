"""What the gateway refuses, and what it survives: tampered holder signatures, a holder that is down or loses its
answer (never a second payment, counted at the holder and the sandbox bank), wrong state, replayed code, an id_token
of another attempt, an expired consent, another application's ids."""

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from connectors.models import SandboxPayment
from initiator.models import InitiatorConsent, InitiatorPayment
from initiator.services.sync import poll_open
from payments.models import PixPayment
from tests.initiator.conftest import CALLBACK, Gateway
from tests.initiator.holder_proxy import HolderProxy
from tests.support.payment_bodies import consent_data, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


def _held(e2e: str) -> tuple[int, int]:
    """Payments with this endToEndId at the holder, and at the sandbox bank behind it."""
    return PixPayment.objects.filter(end_to_end_id=e2e).count(), SandboxPayment.objects.filter(
        end_to_end_id=e2e
    ).count()


def test_holder_down_then_answer_lost_then_recovered_makes_one_payment(proxied_gateway: tuple[Gateway, HolderProxy]):
    gateway, proxy = proxied_gateway
    data = consent_data(amount="50.00")
    consent_id = gateway.authorise(data)
    item = payment_item(data)

    proxy.mode = "down"
    down = gateway.pay(consent_id, [item], key="lost-1")
    assert down.status_code == 502, down.text
    assert down.headers["x-origin-error"] == "participant"
    assert down.headers["x-error-source-url"].endswith("/open-banking/payments/v4/pix/payments")
    assert _held(item["endToEndId"]) == (0, 0)

    proxy.mode = "drop"  # the holder pays, the answer never arrives (the gateway's own retry is dropped too)
    lost = gateway.pay(consent_id, [item], key="lost-1")
    assert lost.status_code == 502, lost.text
    assert _held(item["endToEndId"]) == (1, 1)
    assert InitiatorPayment.objects.get(idempotency_key="lost-1").status == "SUBMITTING"

    proxy.mode = "up"
    recovered = gateway.pay(consent_id, [item], key="lost-1")
    assert recovered.status_code == 201, recovered.text
    payment_id = recovered.json()["data"][0]["paymentId"]
    assert _held(item["endToEndId"]) == (1, 1)
    assert PixPayment.objects.get(end_to_end_id=item["endToEndId"]).payment_id == payment_id
    payment = InitiatorPayment.objects.get(idempotency_key="lost-1")
    assert payment.payment_id == payment_id
    keys = set(payment.calls.filter(operation="payment-create").values_list("idempotency_key", flat=True))
    assert keys == {"lost-1"}


def test_unknown_outcome_is_resolved_by_the_poller_with_the_same_key(proxied_gateway: tuple[Gateway, HolderProxy]):
    gateway, proxy = proxied_gateway
    data = consent_data(amount="51.00")
    consent_id = gateway.authorise(data)
    item = payment_item(data)
    proxy.mode = "drop"
    assert gateway.pay(consent_id, [item], key="poll-1").status_code == 502
    proxy.mode = "up"
    assert poll_open() >= 0 and InitiatorPayment.objects.get(idempotency_key="poll-1").status == "SUBMITTING"
    # within its grace period the call may still be in flight; once past it, the poller sends the same key again
    InitiatorPayment.objects.filter(idempotency_key="poll-1").update(next_poll_at=timezone.now())
    poll_open()
    payment = InitiatorPayment.objects.get(idempotency_key="poll-1")
    assert payment.status not in ("SUBMITTING", "RJCT")
    assert payment.payment_id == PixPayment.objects.get(end_to_end_id=item["endToEndId"]).payment_id
    assert _held(item["endToEndId"]) == (1, 1)


def test_tampered_holder_signature_is_never_trusted(proxied_gateway: tuple[Gateway, HolderProxy]):
    gateway, proxy = proxied_gateway
    data = consent_data(amount="52.00")
    consent_id = gateway.authorise(data)
    item = payment_item(data)
    proxy.mode = "tamper"
    response = gateway.pay(consent_id, [item], key="tamper-1")
    assert response.status_code == 502, response.text
    assert "Assinatura" in response.json()["errors"][0]["detail"]
    payment = InitiatorPayment.objects.get(idempotency_key="tamper-1")
    assert (payment.status, payment.payment_id, payment.holder_body) == ("SUBMITTING", None, {})
    proxy.mode = "up"
    assert gateway.pay(consent_id, [item], key="tamper-1").status_code == 201
    assert _held(item["endToEndId"]) == (1, 1)


def test_tampered_jarm_answer_sends_the_browser_back_with_an_error(proxied_gateway: tuple[Gateway, HolderProxy]):
    gateway, _ = proxied_gateway
    created = gateway.create_consent(consent_data())
    location = gateway.customer_decides(created.json()["data"]["redirectUrl"])
    response_jwt = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))["response"]
    forged = response_jwt[:-4] + ("AAAA" if not response_jwt.endswith("AAAA") else "BBBB")
    back = gateway.follow_return(location.replace(response_jwt, forged))
    assert back.status_code == 302
    assert back.headers["location"].startswith(f"{CALLBACK}?result=error&error=invalid_request")
    consent = InitiatorConsent.objects.get(consent_id=created.json()["data"]["consentId"])
    assert not consent.access_token


@pytest.fixture
def hybrid(settings):
    settings.INITIATOR_PREFER_JARM = False


def _fragment(location: str) -> str:
    assert "#" in location, location
    return location.split("#", 1)[1]


def _result(gateway: Gateway, raw: str):
    return gateway.http.post("/opus-open-finance/authorization-result", json={"data": raw})


def test_wrong_state_and_replayed_code_are_refused(gateway: Gateway, hybrid: None):
    created = gateway.create_consent(consent_data())
    raw = _fragment(gateway.customer_decides(created.json()["data"]["redirectUrl"]))
    params = dict(p.split("=", 1) for p in raw.split("&"))
    wrong = raw.replace(params["state"], "x" + params["state"][1:])
    refused = _result(gateway, wrong)
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid_request"

    assert _result(gateway, raw).status_code == 204
    assert InitiatorConsent.objects.get(consent_id=created.json()["data"]["consentId"]).status == "AUTHORISED"
    replayed = _result(gateway, raw)
    assert (replayed.status_code, replayed.json()["error"]) == (422, "invalid_grant")


def test_id_token_of_another_attempt_is_refused(gateway: Gateway, hybrid: None):
    first = gateway.create_consent(consent_data())
    second = gateway.create_consent(consent_data())
    raw_first = dict(
        p.split("=", 1) for p in _fragment(gateway.customer_decides(first.json()["data"]["redirectUrl"])).split("&")
    )
    raw_second = dict(
        p.split("=", 1) for p in _fragment(gateway.customer_decides(second.json()["data"]["redirectUrl"])).split("&")
    )
    mixed = f"code={raw_first['code']}&id_token={raw_first['id_token']}&state={raw_second['state']}"
    refused = _result(gateway, mixed)
    assert refused.status_code == 422
    assert "nonce" in refused.json()["error_description"]
    second_consent = InitiatorConsent.objects.get(consent_id=second.json()["data"]["consentId"])
    assert not second_consent.access_token


def test_authorisation_retry_only_within_the_window(gateway: Gateway):
    created = gateway.create_consent(consent_data())
    consent_id = created.json()["data"]["consentId"]
    retry_path = f"/opus-open-finance/payments/v1/consents/{consent_id}/authorisation-retry"
    body = {"data": {"callbackApplicationUri": CALLBACK}}
    retried = gateway.http.post(retry_path, json=body, headers=gateway.headers())
    assert retried.status_code == 200, retried.text
    assert retried.json()["data"]["redirectUrl"] != created.json()["data"]["redirectUrl"]

    import datetime as dt

    from django.utils import timezone

    InitiatorConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = gateway.http.post(retry_path, json=body, headers=gateway.headers())
    assert expired.status_code == 422
    assert expired.json()["errors"][0]["code"] == "CONSENTIMENTO_NAO_AUTORIZAVEL"
    assert expired.headers["x-origin-error"] == "opus-tpp"


def test_another_applications_ids_are_not_found(gateway: Gateway, other_application: Gateway):
    data = consent_data(amount="53.00")
    consent_id = gateway.authorise(data)
    paid = gateway.pay(consent_id, [payment_item(data)], key="mine-1")
    payment_id = paid.json()["data"][0]["paymentId"]

    assert other_application.get_consent(consent_id).status_code == 404
    assert other_application.get_payment(payment_id).status_code == 404
    assert other_application.pay(consent_id, [payment_item(data)], key="theirs-1").status_code == 404
    hijack = other_application.http.patch(
        f"/opus-open-finance/application/v1/application/{gateway.application.pk}/webhook-url",
        json={"data": {"webhookUrl": "https://evil.example.com/hook"}},
        headers=other_application.headers(),
    )
    assert hijack.status_code == 404
    listed = other_application.http.get("/backoffice/consents", headers=other_application.headers())
    assert listed.json()["data"] == []
    mine = gateway.http.get("/backoffice/consents", headers=gateway.headers())
    assert [c["id"] for c in mine.json()["data"]] == [consent_id]
    no_credential = gateway.http.get(
        f"/opus-open-finance/payments/v1/consents/{consent_id}",
        headers={**gateway.headers(), "authorization": f"Bearer {other_application.credential}"},
    )
    assert no_credential.status_code == 401


def test_a_failed_par_leaves_a_consent_the_application_can_retry(proxied_gateway: tuple[Gateway, HolderProxy]):
    gateway, proxy = proxied_gateway
    gateway.authorise(consent_data())  # registered, tokens and discovery cached
    proxy.prefix, proxy.mode = "/auth/par", "down"
    failed = gateway.create_consent(consent_data())
    assert failed.status_code == 502, failed.text
    assert "authorisation-retry" in failed.json()["errors"][0]["detail"]
    consent = InitiatorConsent.objects.filter(authorisation_url="").get()
    assert consent.status == "AWAITING_AUTHORISATION"

    proxy.mode = "up"
    retried = gateway.http.post(
        f"/opus-open-finance/payments/v1/consents/{consent.consent_id}/authorisation-retry",
        json={"data": {"callbackApplicationUri": CALLBACK}},
        headers=gateway.headers(),
    )
    assert retried.status_code == 200, retried.text
    back = gateway.follow_return(gateway.customer_decides(retried.json()["data"]["redirectUrl"]))
    assert back.headers["location"] == f"{CALLBACK}?result=success"
    assert InitiatorConsent.objects.get(pk=consent.pk).status == "AUTHORISED"
