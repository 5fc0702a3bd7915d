"""The whole TPP journey through the authorisation server, over the full Django stack in-process (no browser):
client_credentials → POST /consents → PAR → authorize → login → choose account → approve → code → token →
POST /pix/payments → GET. Regulated responses are checked against payments-4.0.0.yml by PaymentsV4."""

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from connectors.models import SandboxCustomer
from consents.models import PaymentConsent
from consents.services import consent_reject
from opusof.authserver.models import AuthorisationCode, PushedAuthorisationRequest
from opusof.models import AccessToken
from opusof.timeutil import business_date
from opusof.tokens import token_hash
from tests.support.oauth_tpp import (
    OAuthTpp,
    csrf_of,
    customer_decides,
    fragment,
    half_hash,
    verify_id_token,
    wsgi_http,
)
from tests.support.payment_bodies import ANA_CPF, BRUNO_CPF, PADARIA_CNPJ, consent_data, payment_item
from tests.support.payments_v4 import PaymentsV4
from tests.support.tpp import DROP


@pytest.fixture
def oauth(tpp, demo_bank):
    return OAuthTpp(actor=tpp, http=wsgi_http())


def test_client_credentials_token_creates_consent(oauth, tpp):
    token = oauth.client_credentials()
    stored = AccessToken.objects.get(token_hash=token_hash(token))
    assert stored.grant_type == "client_credentials"
    assert stored.scopes == ["payments"]
    consent_id = PaymentsV4(tpp=tpp, token=token).create_consent(consent_data())
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "AWAITING_AUTHORISATION"


def test_full_journey_approve_then_pay(oauth, tpp):
    # given a consent created with a token from our token endpoint
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    data = consent_data()
    consent_id = v4.create_consent(data)
    # when the customer approves through PAR + authorize + the pages
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    # then the TPP is redirected with code + id_token + state in the fragment
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(flow.redirect_uri + "#")
    params = fragment(location)
    assert params["state"] == flow.state
    id_token = verify_id_token(params["id_token"], audience=oauth.client_id)
    assert id_token["nonce"] == flow.nonce
    assert id_token["c_hash"] == half_hash(params["code"])
    assert id_token["s_hash"] == half_hash(flow.state)
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    # and the code buys a consent-bound token that pays
    token_response = oauth.exchange(params["code"], flow)
    assert token_response.status_code == 200, token_response.text
    tokens = token_response.json()
    assert token_response.headers["cache-control"] == "no-store"
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "payments", f"consent:{consent_id}"}
    assert AccessToken.objects.get(token_hash=token_hash(tokens["access_token"])).consent_id == consent_id
    assert verify_id_token(tokens["id_token"], audience=oauth.client_id)["sub"] == id_token["sub"]
    payment_response, body = v4.post_payments(consent_id, [payment_item(data)], token=tokens["access_token"])
    assert payment_response.status_code == 201, body
    payment = body["data"][0]
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert v4.get_consent(consent_id)["status"] == "CONSUMED"


def test_refresh_token_gives_new_consent_bound_token(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    tokens = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = oauth.post_form("/auth/token", form)
    assert refreshed.status_code == 200, refreshed.text
    new = AccessToken.objects.get(token_hash=token_hash(refreshed.json()["access_token"]))
    assert new.consent_id == consent_id
    assert new.grant_type == "refresh_token"


@pytest.mark.parametrize("ending", ["consumed", "rejected"])
def test_refresh_token_of_a_final_consent_mints_nothing(oauth, tpp, ending):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    data = consent_data()
    consent_id = v4.create_consent(data)
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    tokens = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()
    if ending == "consumed":
        paid, body = v4.post_payments(consent_id, [payment_item(data)], token=tokens["access_token"])
        assert paid.status_code == 201, body
    else:
        consent_reject(consent_id=consent_id, reason="NAO_INFORMADO", detail="test", actor="bank:test")
    assert v4.get_consent(consent_id)["status"] in ("CONSUMED", "REJECTED")

    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )

    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.filter(grant_type="refresh_token", consent_id=consent_id).exists()


def test_customer_denies(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    response = customer_decides(oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="deny")
    assert response.status_code == 302
    params = fragment(response.headers["location"])
    assert params["error"] == "access_denied"
    assert params["state"] == flow.state
    assert "code" not in params
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "REJEITADO_USUARIO"
    assert not AuthorisationCode.objects.exists()


def test_consent_expired_before_approval(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    PaymentConsent.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = oauth.http.get(flow.authorize_url(oauth.client_id))
    login_url = response.headers["location"]
    page = oauth.http.get(login_url)
    response = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
    )
    response = oauth.http.get(response.headers["location"])
    assert response.status_code == 302
    params = fragment(response.headers["location"])
    assert params["error"] == "access_denied"
    assert "expirado" in params["error_description"]
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"


def test_wrong_password_stays_on_login(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    page = oauth.http.get(login_url)
    response = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "wrong", "csrfmiddlewaretoken": csrf_of(page.text)}
    )
    assert response.status_code == 401
    assert "CPF ou senha inválidos" in response.text


def test_pushed_request_is_single_use(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    assert oauth.http.get(flow.authorize_url(oauth.client_id)).status_code == 302
    again = oauth.http.get(flow.authorize_url(oauth.client_id))
    assert again.status_code == 400
    assert "location" not in again.headers
    assert PushedAuthorisationRequest.objects.get(request_uri=flow.request_uri).used_at is not None


def test_multi_approver_business_consent(oauth, tpp, settings):
    # given the Padaria needs two approvers and Ana is also one of its authorised people
    settings.OPUSOF_BUSINESS_APPROVERS = {PADARIA_CNPJ: 2}
    padaria = SandboxCustomer.objects.get(document=PADARIA_CNPJ)
    padaria.authorised_people.add(SandboxCustomer.objects.get(document=ANA_CPF))
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data(business=PADARIA_CNPJ, logged_cpf=BRUNO_CPF))
    # when Bruno approves paying from the Padaria's account
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=BRUNO_CPF, action="approve", account="30000001"
    )
    # then the TPP gets its code and the consent waits for the second approver
    assert "code" in fragment(response.headers["location"])
    assert v4.get_consent(consent_id)["status"] == "PARTIALLY_ACCEPTED"
    # Bruno is not asked again
    page = oauth.http.get("/minhas-autorizacoes/")
    assert f'class="card pending" data-consent-id="{consent_id}"' not in page.text
    # and Ana approves from "Minhas autorizações"
    ana = wsgi_http()
    login = ana.get("/minhas-autorizacoes/entrar")
    ana.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(login.text)},
    )
    page = ana.get("/minhas-autorizacoes/")
    assert f'class="card pending" data-consent-id="{consent_id}"' in page.text
    response = ana.post(
        f"/minhas-autorizacoes/consentimentos/{consent_id}/aprovar", data={"csrfmiddlewaretoken": csrf_of(page.text)}
    )
    assert response.status_code == 302
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"


def test_login_locked_after_repeated_failures(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    csrf = csrf_of(oauth.http.get(login_url).text)
    for _ in range(5):
        response = oauth.http.post(login_url, data={"cpf": ANA_CPF, "password": "x", "csrfmiddlewaretoken": csrf})
        assert response.status_code == 401
    response = oauth.http.post(login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 401
    assert "bloqueado" in response.text


def test_stale_login_must_authenticate_again(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    first = oauth.start(v4.create_consent(consent_data()))
    customer_decides(oauth.http, first.authorize_url(oauth.client_id), cpf=ANA_CPF, action="deny")
    # twenty minutes later the session still exists, but the login is too old to approve anything
    session = SessionStore(session_key=oauth.http.cookies["sessionid"])
    customer = session["authserver_customer"]
    customer["auth_time"] = (timezone.now() - dt.timedelta(minutes=20)).isoformat()
    session["authserver_customer"] = customer
    session.save()
    second = oauth.start(v4.create_consent(consent_data()))
    response = oauth.http.get(second.authorize_url(oauth.client_id))
    assert response.headers["location"].startswith("/auth/entrar/")


def test_review_shows_every_scheduled_date_and_masked_cpf_creditor(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    start = business_date() + dt.timedelta(days=2)
    data = consent_data(schedule={"daily": {"startDate": start.isoformat(), "quantity": 3}})
    data["creditor"] = {"personType": "PESSOA_NATURAL", "cpfCnpj": BRUNO_CPF, "name": "Bruno Lima"}
    flow = oauth.start(v4.create_consent(data))
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    csrf = csrf_of(oauth.http.get(login_url).text)
    consent_url = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf}
    ).headers["location"]
    page = oauth.http.get(consent_url).text
    for offset in range(3):
        assert (start + dt.timedelta(days=offset)).strftime("%d/%m/%Y") in page
    assert "Datas (3 pagamentos)" in page
    assert '<dd id="creditor-document">***.654.321-**</dd>' in page
    assert BRUNO_CPF not in page
    assert 'id="account-10000003"' not in page  # the salary account may not pay


def test_consent_of_another_cpf_cannot_be_approved(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data(logged_cpf=ANA_CPF))
    flow = oauth.start(consent_id)
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    csrf = csrf_of(oauth.http.get(login_url).text)
    response = oauth.http.post(login_url, data={"cpf": BRUNO_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf})
    page = oauth.http.get(response.headers["location"])
    assert page.status_code == 403
    assert 'id="retry-login"' in page.text
    assert 'id="consent-button"' not in page.text
    # Ana can still log in within the same flow and approve
    response = oauth.http.post(
        login_url,
        data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(oauth.http.get(login_url).text)},
    )
    assert 'id="consent-button"' in oauth.http.get(response.headers["location"]).text
    assert v4.get_consent(consent_id)["status"] == "AWAITING_AUTHORISATION"


def test_jarm_code_flow(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    data = consent_data()
    consent_id = v4.create_consent(data)
    flow = oauth.start(consent_id, response_type="code", response_mode="jwt", nonce=DROP)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == flow.redirect_uri
    assert not location.fragment
    [jarm] = [value for name, value in parse_qsl(location.query) if name == "response"]
    claims = verify_id_token(jarm, audience=oauth.client_id)  # same key and issuer as id_tokens
    assert claims["state"] == flow.state
    tokens = oauth.exchange(claims["code"], flow)
    assert tokens.status_code == 200, tokens.text
    payment_response, body = v4.post_payments(consent_id, [payment_item(data)], token=tokens.json()["access_token"])
    assert payment_response.status_code == 201, body


def test_jarm_denial_is_signed_too(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()), response_type="code", response_mode="jwt")
    response = customer_decides(oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="deny")
    [jarm] = [v for n, v in parse_qsl(urlsplit(response.headers["location"]).query) if n == "response"]
    claims = verify_id_token(jarm, audience=oauth.client_id)
    assert claims["error"] == "access_denied"
    assert claims["state"] == flow.state
    assert "code" not in claims


def test_authorize_accepts_form_post(oauth, tpp):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    flow = oauth.start(v4.create_consent(consent_data()))
    response = oauth.http.post("/auth/authorize", data={"client_id": oauth.client_id, "request_uri": flow.request_uri})
    assert response.status_code == 302
    assert response.headers["location"].startswith("/auth/entrar/")


def test_bank_down_on_the_review_page_is_a_503_page_not_an_error(oauth, tpp, settings):
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    consent_id = v4.create_consent(consent_data())
    flow = oauth.start(consent_id)
    # Account discovery through the HTTP connector, at a port nothing listens on.
    settings.OPUSOF_CONNECTORS = {**settings.OPUSOF_CONNECTORS, "discover_accounts": "connectors.http.HttpBank"}
    settings.OPUSOF_CONNECTOR_HTTP_BASE_URL = "http://127.0.0.1:9"
    response = oauth.http.get(flow.authorize_url(oauth.client_id))
    login_url = response.headers["location"]
    page = oauth.http.get(login_url)
    response = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
    )
    review = oauth.http.get(response.headers["location"])
    assert review.status_code == 503
    assert "Banco indisponível" in review.text
    assert v4.get_consent(consent_id)["status"] == "AWAITING_AUTHORISATION"
