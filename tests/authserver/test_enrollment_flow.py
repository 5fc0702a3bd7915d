"""Enrollments v2 through the authorisation server, over the full Django stack in-process: POST /enrollments →
risk signals → PAR (openid payments enrollment:{id}) → authorize → login → account and limits → approve → code →
token → FIDO registration with that token; deny; the customer's cancellation in "Minhas autorizações". Regulated
responses are checked against enrollments-2.1.0.yml by EnrollmentsV2."""

import pytest

from opusof.authserver.models import AuthorisationCode
from opusof.models import AccessToken
from opusof.tokens import token_hash
from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.oauth_tpp import OAuthTpp, csrf_of, customer_decides, fragment, wsgi_http
from tests.support.payment_bodies import ANA_CPF, BRUNO_CPF, consent_data, payment_item
from tests.support.payments_v4 import PaymentsV4


@pytest.fixture
def oauth(tpp, demo_bank):
    return OAuthTpp(actor=tpp, http=wsgi_http())


@pytest.fixture
def v2(oauth, tpp):
    return EnrollmentsV2(tpp=tpp, token=oauth.client_credentials())


def awaiting_validation(v2: EnrollmentsV2) -> str:
    enrollment_id = v2.create()
    response, _ = v2.post_risk_signals(enrollment_id)
    assert response.status_code == 204
    return enrollment_id


def start(oauth: OAuthTpp, enrollment_id: str):
    return oauth.start(enrollment_id, scope=f"openid payments enrollment:{enrollment_id}")


def approve_with_limits(oauth: OAuthTpp, flow):
    """Ana approves on the enrollment page with account 10000001, R$ 500,00 per transaction and R$ 1 500 a day."""
    return customer_decides(
        oauth.http,
        flow.authorize_url(oauth.client_id),
        cpf=ANA_CPF,
        action="approve",
        account="10000001",
        extra={"transaction_limit": "500,00", "daily_limit": "1500"},
    )


def test_full_enrollment_journey_approve_then_register(oauth, v2):
    enrollment_id = awaiting_validation(v2)
    flow = start(oauth, enrollment_id)
    response = approve_with_limits(oauth, flow)
    assert response.status_code == 302, response.text
    params = fragment(response.headers["location"])
    assert params["state"] == flow.state
    enrollment = v2.get(enrollment_id)
    assert enrollment["status"] == "AWAITING_ENROLLMENT"
    assert (enrollment["transactionLimit"], enrollment["dailyLimit"]) == ("500.00", "1500.00")

    exchanged = oauth.exchange(params["code"], flow)
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    assert set(tokens["scope"].split()) == {"openid", "payments", f"enrollment:{enrollment_id}"}
    assert AccessToken.objects.get(token_hash=token_hash(tokens["access_token"])).consent_id == enrollment_id
    # the token of the journey is what the FIDO registration asks for (security openid enrollment:{id} payments)
    response, body = v2.registration_options(enrollment_id, token=tokens["access_token"])
    assert response.status_code == 201, body
    credential = v2.device.create(body["data"], origin=v2.origin)
    response, body = v2.register(enrollment_id, credential, token=tokens["access_token"])
    assert response.status_code == 204, body
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"


def test_invalid_limits_keep_the_customer_on_the_page(oauth, v2):
    enrollment_id = awaiting_validation(v2)
    flow = start(oauth, enrollment_id)
    response = customer_decides(
        oauth.http,
        flow.authorize_url(oauth.client_id),
        cpf=ANA_CPF,
        action="approve",
        account="10000001",
        extra={"transaction_limit": "abc"},
    )
    assert response.status_code == 400, response.text
    assert 'id="consent-error"' in response.text
    # a zero limit passes the form but not enrollment_authorise (limits must be positive): still on the page
    form = {"action": "approve", "csrfmiddlewaretoken": csrf_of(response.text), "transaction_limit": "0"}
    form["account"] = response.text.split('id="account-10000001" value="')[1].split('"')[0]
    response = oauth.http.post(str(response.request.url), data=form)
    assert response.status_code == 400, response.text
    assert v2.get(enrollment_id)["status"] == "AWAITING_ACCOUNT_HOLDER_VALIDATION"
    assert not AuthorisationCode.objects.exists()


def test_customer_denies_enrollment(oauth, v2):
    enrollment_id = awaiting_validation(v2)
    flow = start(oauth, enrollment_id)
    response = customer_decides(oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="deny")
    assert response.status_code == 302
    params = fragment(response.headers["location"])
    assert params["error"] == "access_denied"
    assert "code" not in params
    enrollment = v2.get(enrollment_id)
    assert enrollment["status"] == "REJECTED"
    assert enrollment["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_MANUALMENTE"}
    assert enrollment["cancellation"]["cancelledFrom"] == "DETENTORA"


def test_par_refuses_enrollment_not_awaiting_validation(oauth, v2):
    enrollment_id = v2.create()  # no risk signals yet: AWAITING_RISK_SIGNALS
    claims = oauth.request_object(
        enrollment_id, challenge="a" * 43, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    claims["scope"] = f"openid payments enrollment:{enrollment_id}"
    response = oauth.par(oauth.actor.sign(claims))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request_object")
    claims["scope"] = f"openid payments enrollment:{enrollment_id} consent:{enrollment_id}"
    response = oauth.par(oauth.actor.sign(claims))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


def test_customer_lists_and_cancels_enrollment(oauth, v2):
    enrollment_id = v2.authorised()
    ana = wsgi_http()
    login = ana.get("/minhas-autorizacoes/entrar")
    ana.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(login.text)},
    )
    page = ana.get("/minhas-autorizacoes/")
    assert f'data-enrollment-id="{enrollment_id}"' in page.text
    assert "Celular da Ana" in page.text
    cancel_url = f"/minhas-autorizacoes/vinculos/{enrollment_id}/cancelar"
    assert cancel_url in page.text

    bruno = wsgi_http()
    login = bruno.get("/minhas-autorizacoes/entrar")
    bruno.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": BRUNO_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(login.text)},
    )
    bruno_page = bruno.get("/minhas-autorizacoes/")
    assert bruno.post(cancel_url, data={"csrfmiddlewaretoken": csrf_of(bruno_page.text)}).status_code == 404
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"

    response = ana.post(cancel_url, data={"csrfmiddlewaretoken": csrf_of(page.text)})
    assert response.status_code == 302, response.text
    enrollment = v2.get(enrollment_id)
    assert enrollment["status"] == "REVOKED"
    assert enrollment["cancellation"]["reason"] == {"revocationReason": "REVOGADO_MANUALMENTE"}
    assert cancel_url not in ana.get("/minhas-autorizacoes/").text
    assert ana.post(cancel_url, data={"csrfmiddlewaretoken": csrf_of(page.text)}).status_code == 422


def test_journey_with_nrp_consents_pays_without_redirect_using_a_refreshed_token(oauth, v2):
    # given an enrollment approved through a journey that asked for nrp-consents, registered by the device
    enrollment_id = awaiting_validation(v2)
    flow = oauth.start(enrollment_id, scope=f"openid payments enrollment:{enrollment_id} nrp-consents")
    response = approve_with_limits(oauth, flow)
    assert response.status_code == 302, response.text
    tokens = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()
    assert set(tokens["scope"].split()) == {"openid", "payments", f"enrollment:{enrollment_id}", "nrp-consents"}
    _, options = v2.registration_options(enrollment_id, token=tokens["access_token"])
    credential = v2.device.create(options["data"], origin=v2.origin)
    assert v2.register(enrollment_id, credential, token=tokens["access_token"])[0].status_code == 204

    # when, later, the TPP refreshes the token and uses it for a consent and its payment (no redirect)
    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    access = refreshed.json()["access_token"]
    v4 = PaymentsV4(tpp=oauth.actor, token=v2.token)
    data = consent_data(amount="25.00")
    consent_id = v4.create_consent(data)
    authorised, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id), token=access)
    assert authorised.status_code == 204, body
    item = payment_item(data, authorisationFlow="FIDO_FLOW", consentId=consent_id)
    paid, body = v4.post_payments(consent_id, [item], token=access)

    # then the payment settles and names the flow
    assert paid.status_code == 201, body
    assert (body["data"][0]["status"], body["data"][0]["authorisationFlow"]) == ("ACSC", "FIDO_FLOW")


def test_a_revoked_enrollment_s_refresh_token_mints_nothing(oauth, v2):
    enrollment_id = awaiting_validation(v2)
    flow = oauth.start(enrollment_id, scope=f"openid payments enrollment:{enrollment_id} nrp-consents")
    tokens = oauth.exchange(fragment(approve_with_limits(oauth, flow).headers["location"])["code"], flow).json()
    response, _ = v2.patch(enrollment_id, {"reason": {"rejectionReason": "REJEITADO_MANUALMENTE"}})
    assert response.status_code == 204

    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )

    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


def test_par_refuses_nrp_consents_outside_an_enrollment(oauth, v2):
    consent_id = PaymentsV4(tpp=oauth.actor, token=v2.token).create_consent(consent_data())
    claims = oauth.request_object(
        consent_id, challenge="a" * 43, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    claims["scope"] = f"openid payments consent:{consent_id} nrp-consents"
    response = oauth.par(oauth.actor.sign(claims))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
