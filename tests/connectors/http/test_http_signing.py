"""JWS on the connector routes: opusof signs every request body (the contract's application/jwt) and the reference
bank refuses anything else; with response signing on, the bank signs its answers and a tampered or foreign
signature is a connector failure that ends in the regulated infrastructure outcome, never a 500."""

import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.http import calllog, signing
from connectors.http.contract.discovery import discovery_request
from connectors.http.contract.wire import ROUTES, request_meta
from connectors.interfaces import ConnectorOutcomeUnknown
from connectors.models import ConnectorCall, SandboxAccount, SandboxLedgerEntry
from connectors.reference.server import ReferenceBankServer
from connectors.registry import payment_status_reader
from consents.services import consent_authorise
from opusof.keys import holder_kid
from opusof.ofb import account_from_wire
from payments.services import payment_poll_status
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reference_bank_options() -> dict[str, Any]:
    return {"sign_responses": True}


def post(server: ReferenceBankServer, route: str, content: bytes, content_type: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.base_url}{ROUTES[route]}",
        data=content,
        method="POST",
        headers={"content-type": content_type},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def discovery_body() -> dict[str, Any]:
    meta = request_meta(None, "opusof")
    return discovery_request(customer_document="12345678909", business_document=None, meta=meta)


def last_call(route: str) -> ConnectorCall:
    assert calllog.flush()
    call: ConnectorCall = ConnectorCall.objects.filter(route=route).latest("created_at")
    return call


def test_signed_round_trip(v4, http_connectors):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(consent_data())])

    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"
    # The bank verified our JWS (it refuses anything else) and we verified its answers (plain JSON is refused).
    assert [entry["route"] for entry in http_connectors.requests] == ["validate", "initiate"]
    assert calllog.flush()
    assert {(c.route, c.outcome) for c in ConnectorCall.objects.all()} == {("validate", "OK"), ("initiate", "OK")}


def test_the_bank_refuses_unsigned_and_badly_signed_requests(http_connectors, settings):
    bank = http_connectors
    audience = f"{bank.base_url}{ROUTES['discovery']}"

    status, answer = post(bank, "discovery", json.dumps(discovery_body()).encode(), "application/json")
    assert (status, answer["errors"][0]["code"]) == (400, "BAD_SIGNATURE")

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = signing.sign_with(
        stranger,
        holder_kid(),
        discovery_body(),
        issuer=settings.OPUSOF_ORGANISATION_ID,
        audience=audience,
        jti="forged-1",
    )
    status, answer = post(bank, "discovery", forged.encode(), signing.CONTENT_TYPE)
    assert (status, answer["errors"][0]["code"]) == (400, "BAD_SIGNATURE")

    wrong_audience = signing.sign_request(discovery_body(), audience="https://elsewhere.example/account-discovery")
    status, _ = post(bank, "discovery", wrong_audience.encode(), signing.CONTENT_TYPE)
    assert status == 400

    good = signing.sign_request(discovery_body(), audience=audience)
    status, _ = post(bank, "discovery", good.encode(), signing.CONTENT_TYPE)
    assert status == 200
    status, answer = post(bank, "discovery", good.encode(), signing.CONTENT_TYPE)  # the same jti again
    assert (status, answer["errors"][0]["code"]) == (400, "BAD_SIGNATURE")
    # Refused requests never reached the bank's routes.
    assert len(bank.received("discovery")) == 1


@pytest.mark.parametrize("fault", ["tamperNext", "wrongKeyNext"])
def test_untrustworthy_answer_at_consent_authorisation_is_the_infrastructure_rejection(
    v4, http_connectors, faults, fault
):
    consent_id = v4.create_consent(consent_data())
    faults(**{fault: 1, "routes": ["validate"]})

    consent = consent_authorise(consent_id=consent_id, debtor_account=account_from_wire(ANA_ACCOUNT), actor="t")

    assert consent.status == "REJECTED"
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA"
    call = last_call("validate")
    assert (call.outcome, call.error_code, call.attempt) == ("UNAVAILABLE", "BAD_SIGNATURE", 1)


def test_tampered_answer_to_an_initiation_holds_the_payment_and_the_status_route_settles_it(
    v4, http_connectors, faults
):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    before = SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance
    faults(tamperNext=1, routes=["initiate"])

    response, body = v4.post_payments(consent_id, [payment_item(consent_data())])

    # The bank paid but its answer cannot be trusted: not a refusal, not a 500 — held until the status route says.
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "PDNG"
    assert payment_poll_status(payment_id=payment["paymentId"]).status == "ACSC"
    assert SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance == before - Decimal("100.00")
    assert SandboxLedgerEntry.objects.filter(payment__payment_id=payment["paymentId"], direction="DEBIT").count() == 1


def test_answer_signed_by_an_unknown_key_raises_outcome_unknown(v4, http_connectors, faults):
    consent_id = v4.authorised_consent(consent_data(), debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(consent_data())])
    [payment] = body["data"]
    faults(wrongKeyNext=1, routes=["status"])

    with pytest.raises(ConnectorOutcomeUnknown, match="assinatura"):
        payment_status_reader().get_payment_status(payment_id=payment["paymentId"], end_to_end_id=payment["endToEndId"])
    # Not retried: the second call is the next one, answered properly.
    again = payment_status_reader().get_payment_status(
        payment_id=payment["paymentId"], end_to_end_id=payment["endToEndId"]
    )
    assert again.status == "ACSC"


def test_a_plain_json_answer_is_refused_when_signatures_are_required(v4, http_connectors):
    http_connectors.sign_responses = False  # the bank stops signing; opusof still requires it
    consent_id = v4.create_consent(consent_data())

    consent = consent_authorise(consent_id=consent_id, debtor_account=account_from_wire(ANA_ACCOUNT), actor="t")

    assert consent.status == "REJECTED"
    assert consent.rejection_reason == "FALHA_INFRAESTRUTURA"
    assert last_call("validate").error_code == "BAD_SIGNATURE"
