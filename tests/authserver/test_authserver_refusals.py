"""Requests the authorisation server must refuse with the standard OAuth error, issuing nothing."""

import datetime as dt
import time

import jwt
import pytest
from django.core.cache import cache
from django.utils import timezone

from consents.models import PaymentConsent
from opusof.authserver.clientauth import MAX_ASSERTION_LIFETIME_SECONDS
from opusof.authserver.models import AuthorisationCode, PushedAuthorisationRequest, RefreshToken
from opusof.models import AccessToken, UsedJti
from opusof.tokens import token_hash
from tests.support.oauth_tpp import (
    ISSUER,
    OAuthTpp,
    csrf_of,
    customer_decides,
    fragment,
    pkce_pair,
    wsgi_http,
)
from tests.support.payment_bodies import ANA_CPF, consent_data, payment_item
from tests.support.payments_v4 import PaymentsV4
from tests.support.spec import assert_response_matches_spec
from tests.support.tpp import DROP


@pytest.fixture
def oauth(tpp, demo_bank):
    return OAuthTpp(actor=tpp, http=wsgi_http())


@pytest.fixture
def v4(oauth, tpp):
    return PaymentsV4(tpp=tpp, token=oauth.client_credentials())


def assert_oauth_error(response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["error_description"], str)
    assert response.headers["cache-control"] == "no-store"


def signed_request(oauth, consent_id: str, **overrides) -> str:
    _, challenge = pkce_pair()
    claims = oauth.request_object(
        consent_id, challenge=challenge, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    for name, value in overrides.items():
        if value is DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return oauth.actor.sign(claims)


def approved(oauth, v4, *, consent_id: str | None = None):
    consent_id = consent_id or v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    return flow, fragment(response.headers["location"])["code"]


# --- PAR / request object -------------------------------------------------------------------------------------------


def test_unregistered_redirect_uri(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    response = oauth.par(signed_request(oauth, consent_id, redirect_uri="https://evil.example.com/callback"))
    assert_oauth_error(response, "invalid_request_object")
    # a prefix of a registered URI is not a match either (exact string comparison)
    response = oauth.par(signed_request(oauth, consent_id, redirect_uri=oauth.actor.client.redirect_uris[0] + "/x"))
    assert_oauth_error(response, "invalid_request_object")
    assert not PushedAuthorisationRequest.objects.exists()


def test_unsigned_request_object(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    _, challenge = pkce_pair()
    claims = oauth.request_object(
        consent_id, challenge=challenge, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    unsigned = jwt.encode(claims, "", algorithm="none")
    assert_oauth_error(oauth.par(unsigned), "invalid_request_object")
    hmac_signed = jwt.encode(claims, "a-shared-secret-of-at-least-32-bytes!!", algorithm="HS256")
    assert_oauth_error(oauth.par(hmac_signed), "invalid_request_object")
    rs256 = jwt.encode(claims, oauth.actor.key, algorithm="RS256", headers={"kid": oauth.actor.kid})
    assert_oauth_error(oauth.par(rs256), "invalid_request_object")
    assert not PushedAuthorisationRequest.objects.exists()


def test_request_object_signed_by_another_key(oauth, v4, rsa_keys):
    consent_id = v4.create_consent(consent_data())
    _, challenge = pkce_pair()
    claims = oauth.request_object(
        consent_id, challenge=challenge, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    assert_oauth_error(oauth.par(oauth.actor.sign(claims, sign_with=rsa_keys[3])), "invalid_request_object")


def test_expired_request_object(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    now = int(time.time())
    expired = signed_request(oauth, consent_id, nbf=now - 600, iat=now - 600, exp=now - 300)
    assert_oauth_error(oauth.par(expired), "invalid_request_object")
    too_long = signed_request(oauth, consent_id, exp=now + 7200)
    assert_oauth_error(oauth.par(too_long), "invalid_request_object")
    no_nbf = signed_request(oauth, consent_id, nbf=DROP)
    assert_oauth_error(oauth.par(no_nbf), "invalid_request_object")
    assert not PushedAuthorisationRequest.objects.exists()


def test_request_object_wrong_aud_or_iss(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    assert_oauth_error(
        oauth.par(signed_request(oauth, consent_id, aud="https://other-bank.example.com")), "invalid_request_object"
    )
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, iss="someone-else")), "invalid_request_object")


def test_pkce_and_nonce_required(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    plain = signed_request(oauth, consent_id, code_challenge_method="plain")
    assert_oauth_error(oauth.par(plain), "invalid_request_object")
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, code_challenge=DROP)), "invalid_request_object")
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, nonce=DROP)), "invalid_request_object")
    # a plain code response is unprotected: response_type=code only with JARM
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, response_type="code")), "invalid_request_object")
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, response_type="token")), "unsupported_response_type")
    assert_oauth_error(oauth.par(signed_request(oauth, consent_id, id_token_hint="x.y.z")), "invalid_request_object")


def test_consent_scope_must_name_own_awaiting_consent(oauth, v4, other_tpp):
    other_v4 = PaymentsV4(tpp=other_tpp, token=OAuthTpp(actor=other_tpp, http=oauth.http).client_credentials())
    foreign = other_v4.create_consent(consent_data())
    assert_oauth_error(oauth.par(signed_request(oauth, foreign)), "invalid_request_object")
    consent_id = v4.create_consent(consent_data())
    no_consent = signed_request(oauth, consent_id, scope="openid payments")
    assert_oauth_error(oauth.par(no_consent), "invalid_scope")


def test_par_needs_client_authentication(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    response = oauth.post_form("/auth/par", {"request": signed_request(oauth, consent_id)}, authenticate=False)
    assert_oauth_error(response, "invalid_client", 401)


def test_authorize_without_par_is_not_redirected(oauth):
    response = oauth.http.get(
        "/auth/authorize",
        params={"client_id": oauth.client_id, "redirect_uri": "https://evil.example.com", "response_type": "code"},
    )
    assert response.status_code == 400
    assert "location" not in response.headers


# --- client authentication ------------------------------------------------------------------------------------------


def test_replayed_client_assertion_jti(oauth):
    assertion = oauth.assertion()
    first = oauth.post_form("/auth/token", {"grant_type": "client_credentials"}, assertion=assertion)
    assert first.status_code == 200
    second = oauth.post_form("/auth/token", {"grant_type": "client_credentials"}, assertion=assertion)
    assert_oauth_error(second, "invalid_client", 401)
    assert AccessToken.objects.count() == 1  # the first call's; nothing for the replay


def test_a_client_assertion_stays_single_use_when_the_cache_is_emptied(oauth):
    # The record is in the database (opusof.replay), not the cache a Redis restart empties.
    assertion = oauth.assertion()
    first = oauth.post_form("/auth/token", {"grant_type": "client_credentials"}, assertion=assertion)
    assert first.status_code == 200
    cache.clear()

    second = oauth.post_form("/auth/token", {"grant_type": "client_credentials"}, assertion=assertion)

    assert_oauth_error(second, "invalid_client", 401)
    used = UsedJti.objects.get(scope=UsedJti.Scope.CLIENT_ASSERTION, issuer=oauth.client_id)
    # Kept for as long as the assertion could still be accepted: its remaining lifetime plus the clock leeway.
    assert used.expires_at <= timezone.now() + dt.timedelta(seconds=MAX_ASSERTION_LIFETIME_SECONDS + 11)


def test_client_assertion_wrong_aud_expired_or_other_key(oauth, rsa_keys):
    form = {"grant_type": "client_credentials"}
    before = AccessToken.objects.count()
    wrong_aud = oauth.assertion(aud="https://other-bank.example.com/token")
    assert_oauth_error(oauth.post_form("/auth/token", form, assertion=wrong_aud), "invalid_client", 401)
    expired = oauth.assertion(exp=int(time.time()) - 60)
    assert_oauth_error(oauth.post_form("/auth/token", form, assertion=expired), "invalid_client", 401)
    no_jti = oauth.assertion(jti=DROP)
    assert_oauth_error(oauth.post_form("/auth/token", form, assertion=no_jti), "invalid_client", 401)
    forged = oauth.actor.sign(
        {"iss": oauth.client_id, "sub": oauth.client_id, "aud": ISSUER, "exp": int(time.time()) + 60, "jti": "x"},
        sign_with=rsa_keys[3],
    )
    assert_oauth_error(oauth.post_form("/auth/token", form, assertion=forged), "invalid_client", 401)
    assert AccessToken.objects.count() == before


def test_disabled_client_cannot_authenticate(oauth):
    oauth.actor.client.status = "INACTIVE"
    oauth.actor.client.save()
    response = oauth.post_form("/auth/token", {"grant_type": "client_credentials"})
    assert_oauth_error(response, "invalid_client", 401)


def test_client_credentials_only_payments_scope(oauth):
    response = oauth.post_form("/auth/token", {"grant_type": "client_credentials", "scope": "payments accounts"})
    assert_oauth_error(response, "invalid_scope")
    assert_oauth_error(oauth.post_form("/auth/token", {"grant_type": "password"}), "unsupported_grant_type")


# --- codes ----------------------------------------------------------------------------------------------------------


def test_missing_or_wrong_pkce_verifier(oauth, v4):
    flow, code = approved(oauth, v4)
    assert_oauth_error(oauth.exchange(code, flow, verifier=""), "invalid_grant")
    # the failed attempt burnt the code: the right verifier no longer works either
    assert_oauth_error(oauth.exchange(code, flow), "invalid_grant")
    flow, code = approved(oauth, v4)
    wrong, _ = pkce_pair()
    assert_oauth_error(oauth.exchange(code, flow, verifier=wrong), "invalid_grant")
    assert not AccessToken.objects.filter(grant_type="authorization_code").exists()
    assert not RefreshToken.objects.exists()


def test_reused_code_revokes_what_it_issued(oauth, v4):
    flow, code = approved(oauth, v4)
    first = oauth.exchange(code, flow)
    assert first.status_code == 200
    issued = AccessToken.objects.get(token_hash=token_hash(first.json()["access_token"]))
    assert_oauth_error(oauth.exchange(code, flow), "invalid_grant")
    issued.refresh_from_db()
    assert issued.revoked_at is not None
    assert RefreshToken.objects.get().revoked_at is not None
    assert AccessToken.objects.filter(grant_type="authorization_code").count() == 1


def test_code_bound_to_client_and_redirect_uri(oauth, v4, other_tpp):
    flow, code = approved(oauth, v4)
    thief = OAuthTpp(actor=other_tpp, http=oauth.http)
    assert_oauth_error(thief.exchange(code, flow), "invalid_grant")
    flow.redirect_uri = "https://tpp-one.example.com/other"
    assert_oauth_error(oauth.exchange(code, flow), "invalid_grant")


def test_expired_code(oauth, v4):
    flow, code = approved(oauth, v4)
    AuthorisationCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_oauth_error(oauth.exchange(code, flow), "invalid_grant")
    assert not AccessToken.objects.filter(grant_type="authorization_code").exists()


# --- tokens against the regulated API -------------------------------------------------------------------------------


def test_token_for_consent_a_used_on_consent_b(oauth, v4):
    data = consent_data()
    consent_a = v4.create_consent(data)
    flow, code = approved(oauth, v4, consent_id=consent_a)
    token_a = oauth.exchange(code, flow).json()["access_token"]
    consent_b = v4.create_consent(consent_data())
    approved(oauth, v4, consent_id=consent_b)
    # payments v4 names the consent only through the token (scope consent:{id}), so whatever the TPP means, token A
    # can only ever pay consent A; consent B is untouched
    response, body = v4.post_payments(consent_b, [payment_item(data)], token=token_a)
    assert response.status_code == 201, body
    assert body["data"][0]["consentId"] == consent_a
    assert PaymentConsent.objects.get(consent_id=consent_b).status == "AUTHORISED"
    # and once A is consumed, token A pays nothing more
    response, body = v4.post_payments(consent_b, [payment_item(data)], token=token_a)
    assert response.status_code == 422, body
    assert PaymentConsent.objects.get(consent_id=consent_b).status == "AUTHORISED"
    # a consent-bound token does not read consents either (client_credentials only)
    response = oauth.actor.get(f"/open-banking/payments/v4/consents/{consent_b}", token=token_a)
    assert response.status_code in (401, 403)
    assert_response_matches_spec(response, path="/consents/{consentId}", method="get")


def test_approve_form_without_csrf_is_refused(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    page = oauth.http.get(login_url)
    consent_url = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
    ).headers["location"]
    page = oauth.http.get(consent_url)
    assert 'id="consent-button"' in page.text
    response = oauth.http.post(consent_url, data={"action": "approve", "account": "x"})
    assert response.status_code == 403
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "AWAITING_AUTHORISATION"
    assert not AuthorisationCode.objects.exists()


def test_pages_forbid_framing(oauth, v4):
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    login = oauth.http.get(oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"])
    assert login.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    assert login.headers["cache-control"] == "no-store"
