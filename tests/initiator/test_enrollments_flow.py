"""Payments without redirect through the gateway, every hop over real HTTP (live server running both sides): the
application's device (a software FIDO2 authenticator) enrolls, the customer validates the account at the holder,
the device registers its credential, authorises a consent by assertion, and the payment is made with the
enrollment's token, without redirect, ending ACSC."""

import pytest

from enrollments.models import Enrollment, FidoCredential
from initiator.models import HolderCall, InitiatorConsent, InitiatorEnrollment, InitiatorPayment
from payments.models import PixPayment
from tests.initiator.conftest import CALLBACK, Gateway
from tests.initiator.spec_check import assert_data_matches
from tests.support.enrollments_v2 import own_account
from tests.support.initiator_enrollments import AppDevice, assert_opus_sr, enrollment_body
from tests.support.payment_bodies import consent_data, payment_item


@pytest.fixture
def app(gateway: Gateway) -> AppDevice:
    return AppDevice(gateway, callback=CALLBACK)


@pytest.mark.django_db(transaction=True)
def test_enrollment_then_payment_without_redirect_settles(gateway: Gateway, app: AppDevice):
    created = app.create(enrollment_body(debtor=own_account(), callback=CALLBACK))
    assert created.status_code == 201, created.text
    assert created.headers["x-selected-regulatory-v"] == "2.1.0"
    enrollment_id = created.json()["data"]["enrollmentId"]
    holder_answer = created.json()["data"]["enrollment"]
    assert_data_matches(holder_answer, path="/enrollments", method="post", status=201, spec="enrollments-2.1.0.yml")
    assert holder_answer["data"]["status"] == "AWAITING_RISK_SIGNALS"
    mirror = InitiatorEnrollment.objects.get(enrollment_id=enrollment_id)
    assert (mirror.status, mirror.logged_user_document) == ("AWAITING_RISK_SIGNALS", "12345678909")

    signals = app.risk_signals(enrollment_id)
    assert signals.status_code == 201, signals.text
    redirect_url = signals.json()["data"]["redirectUrl"]
    # The contract's URL pattern wants a TLD, which the live server's "localhost" has not.
    public = redirect_url.replace(app.origin, "https://auth.banco.example.com")
    assert_opus_sr({"data": {"redirectUrl": public}}, "RiskSignalsEnrollmentResponse")
    assert "request_uri=" in redirect_url
    assert InitiatorEnrollment.objects.get(pk=mirror.pk).status == "AWAITING_ACCOUNT_HOLDER_VALIDATION"

    back = app.customer_approves(redirect_url)
    assert (back.status_code, back.headers["location"]) == (302, f"{CALLBACK}?result=success")
    mirror.refresh_from_db()
    assert mirror.status == "AWAITING_ENROLLMENT"
    assert mirror.access_token.startswith("gAAAA")  # the journey's token, encrypted at rest

    options = app.registration_options(enrollment_id)
    assert options.status_code == 201, options.text
    assert options.json()["data"]["rp"]["id"] == app.rp
    credential = app.device.create(options.json()["data"], origin=app.origin)
    registered = app.register(enrollment_id, credential)
    assert registered.status_code == 204, registered.text
    mirror.refresh_from_db()
    assert mirror.status == "AUTHORISED"
    # Only the public key reached the holder; the gateway kept neither key nor credential, only what it forwarded.
    stored = FidoCredential.objects.get(enrollment__enrollment_id=enrollment_id)
    assert stored.credential_id  # the holder's record of the public credential
    assert not any(hasattr(mirror, name) for name in ("private_key", "credential_id", "public_key"))

    data = consent_data(amount="87.65")
    consent = gateway.create_consent(data)
    assert consent.status_code == 201, consent.text
    consent_id = consent.json()["data"]["consentId"]
    assertion = app.sign(enrollment_id, consent_id)
    authorised = app.authorise(consent_id, enrollment_id, assertion)
    assert authorised.status_code == 204, authorised.text
    assert authorised.headers["x-selected-regulatory-v"] == "2.1.0"
    mirrored = InitiatorConsent.objects.get(consent_id=consent_id)
    assert (mirrored.status, mirrored.enrollment_id) == ("AUTHORISED", mirror.pk)
    assert mirrored.access_token == ""  # no redirect happened: the consent has no token of its own
    # The holder filled the debtor account in from the enrollment (the consent had none).
    assert mirrored.holder_data["debtorAccount"]["number"] == "10000001"

    response = gateway.pay(consent_id, [payment_item(data)], key="sem-redirect-1")
    assert response.status_code == 201, response.text
    paid = response.json()["data"][0]
    assert (paid["authorisationFlow"], paid["consentId"]) == ("FIDO_FLOW", consent_id)
    read = gateway.get_payment(paid["paymentId"])
    assert read.json()["data"]["status"] == "ACSC", read.text
    payment = InitiatorPayment.objects.get(payment_id=paid["paymentId"])
    assert payment.status == "ACSC"
    assert PixPayment.objects.get(payment_id=paid["paymentId"]).authorisation_flow == "FIDO_FLOW"
    assert HolderCall.objects.filter(enrollment=mirror, operation="consent-authorise", status_code=204).exists()

    history = [(h.from_status, h.to_status) for h in mirror.history.order_by("created_at", "pk")]
    assert history == [
        ("AWAITING_RISK_SIGNALS", "AWAITING_ACCOUNT_HOLDER_VALIDATION"),
        ("AWAITING_ACCOUNT_HOLDER_VALIDATION", "AWAITING_ENROLLMENT"),
        ("AWAITING_ENROLLMENT", "AUTHORISED"),
    ]
    got = app.get(enrollment_id)
    assert got.status_code == 200
    assert got.json()["data"]["enrollment"]["data"]["status"] == "AUTHORISED"
    assert Enrollment.objects.get(enrollment_id=enrollment_id).status == "AUTHORISED"
