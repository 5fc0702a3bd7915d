"""Signature, claims and token checks on the real payments v4 endpoints (§1.2 / §2.1): nothing is written."""

import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from consents.models import PaymentConsent
from opusof.tokens import access_token_mint
from payments.models import PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import error_codes
from tests.support.tpp import DROP

CONSENTS = "/open-banking/payments/v4/consents"


@pytest.fixture(scope="module")
def stranger_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": "not-a-jws"}, 400, "BAD_SIGNATURE"),
        ({"kid": "unknown-kid"}, 400, "BAD_SIGNATURE"),
        ({"sign_with": "stranger"}, 400, "BAD_SIGNATURE"),
        ({"iat_from_now": -600}, 403, "INVALID_CLIENT"),
        ({"iat_from_now": 600}, 403, "INVALID_CLIENT"),
        ({"override_claims": {"aud": "https://api.opusof.test/open-banking/payments/v4/other"}}, 403, "INVALID_CLIENT"),
        ({"override_claims": {"iss": str(uuid.uuid4())}}, 403, "INVALID_CLIENT"),
        ({"override_claims": {"jti": DROP}}, 403, "INVALID_CLIENT"),
        ({"content_type": "application/json"}, 415, None),
        ({"accept": "application/xml"}, 406, None),
        ({"interaction_id": None}, 400, None),
        ({"token": "not-a-token"}, 401, None),
    ],
)
def test_rejected_consent_requests_write_nothing(v4, stranger_key, kwargs, status, code):
    if kwargs.get("sign_with") == "stranger":
        kwargs = {**kwargs, "sign_with": stranger_key}
    if "iat_from_now" in kwargs:
        # Taken when the test runs: an iat fixed at collection drifts into the window when the suite runs long.
        kwargs = {"override_claims": {"iat": int(time.time()) + kwargs["iat_from_now"]}}
    kwargs.setdefault("token", v4.token)
    response = v4.tpp.post(CONSENTS, {"data": consent_data()}, **kwargs)
    body = v4.checked(response, "consents", "post")
    assert response.status_code == status
    if code:
        assert error_codes(body) == [code]
    assert response["x-fapi-interaction-id"]
    assert not PaymentConsent.objects.exists()


def test_reused_jti_is_refused(v4):
    jti = str(uuid.uuid4())
    first = v4.tpp.post(CONSENTS, {"data": consent_data()}, token=v4.token, override_claims={"jti": jti})
    assert first.status_code == 201
    again = v4.tpp.post(CONSENTS, {"data": consent_data()}, token=v4.token, override_claims={"jti": jti})
    body = v4.checked(again, "consents", "post")
    assert again.status_code == 403
    assert error_codes(body) == ["INVALID_CLIENT"]
    assert PaymentConsent.objects.count() == 1


def test_token_of_another_client_cannot_read(v4, other_tpp):
    consent_id = v4.create_consent(consent_data())
    foreign = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])
    # Signed and sent by tpp, but carrying other_tpp's token: the token decides who is calling.
    response = v4.tpp.get(f"{CONSENTS}/{consent_id}", token=foreign)
    assert response.status_code == 404


def test_token_of_another_client_cannot_create_with_own_signature(v4, other_tpp):
    foreign = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])
    response = v4.tpp.post(CONSENTS, {"data": consent_data()}, token=foreign)
    body = v4.checked(response, "consents", "post")
    # Signature by tpp's key does not verify against other_tpp's JWKS.
    assert response.status_code == 400
    assert error_codes(body) == ["BAD_SIGNATURE"]
    assert not PaymentConsent.objects.exists()


def test_expired_consent_token_cannot_pay(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    token = access_token_mint(
        client=v4.tpp.client,
        grant_type="authorization_code",
        scopes=["openid", "payments", f"consent:{consent_id}"],
        consent_id=consent_id,
        ttl_seconds=-1,
    )
    response, _ = v4.post_payments(consent_id, [payment_item(data)], token=token)
    assert response.status_code == 401
    assert not PixPayment.objects.exists()
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "AUTHORISED"


def test_get_without_payments_scope_is_forbidden(v4):
    consent_id = v4.create_consent(consent_data())
    token = access_token_mint(client=v4.tpp.client, grant_type="client_credentials", scopes=["accounts"])
    response = v4.tpp.get(f"{CONSENTS}/{consent_id}", token=token)
    v4.checked(response, "consent", "get")
    assert response.status_code == 403


def test_unsupported_method_is_405(v4):
    response = v4.tpp.api.delete(
        CONSENTS, headers={"Authorization": f"Bearer {v4.token}", "x-fapi-interaction-id": str(uuid.uuid4())}
    )
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["errors"][0]["code"]
    assert response["x-fapi-interaction-id"]
