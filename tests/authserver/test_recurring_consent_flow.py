"""Automatic payments v2 through the authorisation server, over the full Django stack in-process: client_credentials
(recurring-payments) → POST /recurring-consents → PAR (openid recurring-payments recurring-consent:{id}) → authorize →
login → review → approve → code → token → POST /pix/recurring-payments; refresh for the consent's life; deny; the
customer's revocation in "Minhas autorizações". Regulated responses are checked against automatic-payments-2.0.0.yml
by AutomaticPaymentsV2."""

import datetime as dt
import re

import pytest

from opusof.authserver.models import AuthorisationCode, RefreshToken
from opusof.models import AccessToken
from opusof.tokens import token_hash
from recurring.models import RecurringConsent
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.oauth_tpp import OAuthTpp, csrf_of, customer_decides, fragment, verify_id_token, wsgi_http
from tests.support.recurring_bodies import ANA_CPF, BRUNO_CPF, expiry, sweeping_consent, sweeping_payment


@pytest.fixture
def oauth(tpp, demo_bank):
    tpp.client.scopes = ["openid", "payments", "recurring-payments", "consents"]
    tpp.client.save(update_fields=["scopes"])
    return OAuthTpp(actor=tpp, http=wsgi_http())


@pytest.fixture
def ap2(oauth, tpp):
    token = oauth.post_form("/auth/token", {"grant_type": "client_credentials", "scope": "recurring-payments"})
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "recurring-payments"
    return AutomaticPaymentsV2(tpp=tpp, token=token.json()["access_token"])


def recurring_scope(consent_id: str) -> str:
    return f"openid recurring-payments recurring-consent:{consent_id}"


def authorise(oauth: OAuthTpp, consent_id: str) -> dict:
    flow = oauth.start(consent_id, scope=recurring_scope(consent_id))
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    assert response.status_code == 302, response.text
    params = fragment(response.headers["location"])
    assert params["state"] == flow.state
    assert verify_id_token(params["id_token"], audience=oauth.client_id)["nonce"] == flow.nonce
    exchanged = oauth.exchange(params["code"], flow)
    assert exchanged.status_code == 200, exchanged.text
    tokens: dict = exchanged.json()
    return tokens


def test_review_page_shows_the_recurring_consent(oauth, ap2):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00", transaction="200.00", expiration=expiry(30)))
    flow = oauth.start(consent_id, scope=recurring_scope(consent_id))
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    page = oauth.http.get(login_url)
    review = oauth.http.post(
        login_url, data={"cpf": ANA_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
    )
    html = oauth.http.get(review.headers["location"]).text
    assert "Transferências Inteligentes" in html
    assert "Ana Souza" in html
    assert "Valor máximo por transferência" in html and "200.00" in html
    assert "Valor total autorizado" in html and "1000.00" in html
    assert "horário de Brasília" in html
    assert re.search(r'id="account-10000001"', html)


def test_full_recurring_journey_approve_pay_refresh(oauth, ap2):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00", expiration=expiry(30)))
    tokens = authorise(oauth, consent_id)

    assert set(tokens["scope"].split()) == set(recurring_scope(consent_id).split())
    stored = AccessToken.objects.get(token_hash=token_hash(tokens["access_token"]))
    assert (stored.consent_id, stored.grant_type) == (consent_id, "authorization_code")
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "AUTHORISED"
    # the refresh token lives as long as the consent (recurring_consent_token_horizon), not the payments v4 year
    refresh = RefreshToken.objects.get(token_hash=token_hash(tokens["refresh_token"]))
    assert refresh.expires_at == RecurringConsent.objects.get(recurring_consent_id=consent_id).expires_at

    response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=tokens["access_token"])
    assert response.status_code == 201, body
    assert body["data"]["status"] == "ACSC"

    # later: the access token has expired, the refresh token buys a new one that pays again
    AccessToken.objects.filter(pk=stored.pk).update(expires_at=stored.created_at)
    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    new = AccessToken.objects.get(token_hash=token_hash(refreshed.json()["access_token"]))
    assert (new.consent_id, new.grant_type) == (consent_id, "refresh_token")
    assert f"recurring-consent:{consent_id}" in new.scopes
    response, body = ap2.post_payment(consent_id, sweeping_payment("50.00"), token=refreshed.json()["access_token"])
    assert response.status_code == 201, body


def test_customer_denies_recurring_consent(oauth, ap2):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00"))
    flow = oauth.start(consent_id, scope=recurring_scope(consent_id))
    response = customer_decides(oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="deny")
    assert response.status_code == 302
    params = fragment(response.headers["location"])
    assert params["error"] == "access_denied"
    assert "code" not in params
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejection"]["rejectedBy"] == "USUARIO"
    assert consent["rejection"]["rejectedFrom"] == "DETENTORA"
    assert consent["rejection"]["reason"]["code"] == "REJEITADO_USUARIO"
    assert not AuthorisationCode.objects.exists()


def test_par_refuses_mixed_or_foreign_recurring_scopes(oauth, ap2):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00"))
    for scope in (
        f"openid payments recurring-consent:{consent_id}",  # dynamic scope of the other product
        f"openid payments recurring-payments recurring-consent:{consent_id}",  # two products
        f"openid recurring-payments consent:{consent_id}",
    ):
        claims = oauth.request_object(
            consent_id, challenge="a" * 43, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
        )
        claims["scope"] = scope
        response = oauth.par(oauth.actor.sign(claims))
        assert response.status_code == 400, (scope, response.text)
        assert response.json()["error"] == "invalid_scope"


def test_other_customer_ends_the_consent_autenticacao_divergente(oauth, ap2):
    """automatic payments v2 §2.1.8 (yml line 87): the customer authenticated at the holder is not the one who created
    the consent at the TPP → REJECTED AUTENTICACAO_DIVERGENTE, and the TPP gets access_denied."""
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00"))
    flow = oauth.start(consent_id, scope=recurring_scope(consent_id))
    login_url = oauth.http.get(flow.authorize_url(oauth.client_id)).headers["location"]
    page = oauth.http.get(login_url)
    review = oauth.http.post(
        login_url, data={"cpf": BRUNO_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(page.text)}
    )

    response = oauth.http.get(review.headers["location"])

    assert response.status_code == 302
    assert fragment(response.headers["location"])["error"] == "access_denied"
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejection"]["reason"]["code"] == "AUTENTICACAO_DIVERGENTE"
    assert consent["rejection"]["rejectedBy"] == "DETENTORA"
    assert consent["rejection"]["rejectedFrom"] == "DETENTORA"
    assert not AuthorisationCode.objects.exists()


def test_customer_lists_and_revokes_recurring_consent(oauth, ap2, tpp):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00", transaction="300.00"))
    tokens = authorise(oauth, consent_id)  # leaves Ana logged in on oauth.http

    page = oauth.http.get("/minhas-autorizacoes/")
    assert page.status_code == 200, page.text
    assert f'data-recurring-consent-id="{consent_id}"' in page.text
    assert 'id="no-consents"' not in page.text  # Ana has no payments v4 consent, but she has this one
    assert "Valor máximo por transferência: 300.00" in page.text
    revoke_url = f"/minhas-autorizacoes/recorrentes/{consent_id}/revogar"
    assert revoke_url in page.text

    # another customer cannot revoke Ana's consent
    bruno = wsgi_http()
    login = bruno.get("/minhas-autorizacoes/entrar")
    bruno.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": BRUNO_CPF, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(login.text)},
    )
    bruno_page = bruno.get("/minhas-autorizacoes/")
    assert consent_id not in bruno_page.text
    assert bruno.post(revoke_url, data={"csrfmiddlewaretoken": csrf_of(bruno_page.text)}).status_code == 404
    assert ap2.get_consent(consent_id)["status"] == "AUTHORISED"

    response = oauth.http.post(revoke_url, data={"csrfmiddlewaretoken": csrf_of(page.text)})
    assert response.status_code == 302, response.text
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REVOKED"
    assert (consent["revocation"]["revokedBy"], consent["revocation"]["revokedFrom"]) == ("USUARIO", "DETENTORA")
    assert consent["revocation"]["reason"]["code"] == "REVOGADO_USUARIO"
    assert revoke_url not in oauth.http.get("/minhas-autorizacoes/").text  # nothing left to revoke
    # a revoked consent gets no new tokens, and revoking twice is refused, not a 500
    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    assert oauth.http.post(revoke_url, data={"csrfmiddlewaretoken": csrf_of(page.text)}).status_code == 422


def test_metadata_advertises_the_recurring_scopes(oauth):
    scopes = oauth.http.get("/.well-known/openid-configuration").json()["scopes_supported"]
    assert {"recurring-payments", "recurring-consent", "enrollment"} <= set(scopes)


def test_open_ended_consent_gets_a_refresh_token_for_its_whole_life(oauth, ap2):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00"))  # no expirationDateTime: until revoked
    tokens = authorise(oauth, consent_id)
    refresh = RefreshToken.objects.get(token_hash=token_hash(tokens["refresh_token"]))
    assert refresh.expires_at - refresh.created_at > dt.timedelta(days=365 * 10)


def test_par_refuses_recurring_scope_to_a_client_without_it(oauth, ap2, tpp):
    consent_id = ap2.create_consent(sweeping_consent(total="1000.00"))
    tpp.client.scopes = ["openid", "payments", "consents"]
    tpp.client.save(update_fields=["scopes"])
    claims = oauth.request_object(
        consent_id, challenge="a" * 43, state="s", nonce="n", redirect_uri=oauth.actor.client.redirect_uris[0]
    )
    claims["scope"] = recurring_scope(consent_id)
    response = oauth.par(oauth.actor.sign(claims))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
