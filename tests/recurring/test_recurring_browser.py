"""The acceptance journey of automatic payments v2 in a real headless Chromium against a live server: the customer
authorises a sweeping consent once on the bank's pages; three charges on three simulated days settle without them;
a fourth over the consent's total is refused; the customer revokes it in "Minhas autorizações" and the next charge
is refused. The TPP talks OAuth over HTTP to the live server; its API calls are checked against the spec by
AutomaticPaymentsV2. Screenshots land in var/test-artifacts/."""

import pytest

from opusof.authserver.models import RefreshToken
from opusof.models import AccessToken
from opusof.timeutil import business_tz
from opusof.tokens import token_hash
from recurring.models import RecurringConsent, RecurringPayment
from tests.support.automatic_payments_v2 import error_codes, over_oauth, recurring_scope
from tests.support.browser import login_and_review, screenshot
from tests.support.oauth_tpp import OAuthTpp, fragment, verify_id_token
from tests.support.recurring_bodies import ANA_CPF, expiry, pass_a_day, sweeping_consent, sweeping_payment

pytestmark = pytest.mark.browser


def test_browser_authorise_once_three_days_of_charges_limit_then_revocation(
    live_oauth: OAuthTpp, live_server, tpp_callback, browser
):
    # given a TPP with a sweeping consent: 150.00 a transfer, 300.00 in all, one a day, for 30 days
    oauth = live_oauth
    ap2 = over_oauth(oauth)
    consent_id = ap2.create_consent(
        sweeping_consent(
            total="300.00", transaction="150.00", periodic={"day": {"quantityLimit": 1}}, expiration=expiry(30)
        )
    )
    flow = oauth.start(consent_id, redirect_uri=tpp_callback, scope=recurring_scope(consent_id))

    # when Ana logs in on the bank's page, she sees what she is agreeing to
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    login_and_review(page, live_server.url + flow.authorize_url(oauth.client_id), cpf=ANA_CPF, shot="recurring")
    assert page.inner_text("#tpp-name") == oauth.actor.client.organisation_name
    assert page.inner_text("#recurring-product") == "Transferências Inteligentes"
    assert page.inner_text("#creditors") == f"Ana Souza · {ANA_CPF}"
    limits = dict(
        zip(page.locator("dt.limit-label").all_inner_texts(), page.locator("dd.limit").all_inner_texts(), strict=True)
    )
    assert limits == {
        "Valor máximo por transferência": "150.00",
        "Valor total autorizado": "300.00",
        "Quantidade máxima por dia": "1",  # sweeping's periodicity is that of its periodicLimits
    }
    expires_at = RecurringConsent.objects.get(recurring_consent_id=consent_id).expires_at
    assert expires_at is not None
    expires = expires_at.astimezone(business_tz())
    assert page.inner_text("#expires") == f"até {expires:%d/%m/%Y %H:%M} (horário de Brasília)"

    # and approves paying from her current account
    page.check("#account-10000001")
    page.click("#consent-button")
    page.wait_for_url(tpp_callback + "#*")
    screenshot(page, "recurring-callback", full_page=False)
    params = fragment(page.url)
    assert params["state"] == flow.state
    assert verify_id_token(params["id_token"], audience=oauth.client_id)["nonce"] == flow.nonce

    # then the TPP exchanges the code for an access token and a refresh token bound to the consent
    exchanged = oauth.exchange(params["code"], flow)
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    assert f"recurring-consent:{consent_id}" in tokens["scope"].split()
    assert RefreshToken.objects.filter(token_hash=token_hash(tokens["refresh_token"]), consent_id=consent_id).exists()
    assert ap2.get_consent(consent_id)["status"] == "AUTHORISED"

    # and charges on three days without Ana; on the third the access token has expired and is refreshed
    access = tokens["access_token"]
    for day in range(3):
        if day == 2:
            stored = AccessToken.objects.get(token_hash=token_hash(access))
            AccessToken.objects.filter(pk=stored.pk).update(expires_at=stored.created_at)
            response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=access)
            assert response.status_code == 401, body
            refreshed = oauth.post_form(
                "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
            )
            assert refreshed.status_code == 200, refreshed.text
            access = refreshed.json()["access_token"]
        response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=access)
        assert response.status_code == 201, body
        assert body["data"]["status"] == "ACSC"
        response, fetched = ap2.get_payment(body["data"]["recurringPaymentId"])
        assert (response.status_code, fetched["data"]["status"]) == (200, "ACSC")
        pass_a_day()

    # a fourth, on a new day, would pass 300.00 in all
    response, body = ap2.post_payment(consent_id, sweeping_payment("100.00"), token=access)
    assert (response.status_code, error_codes(body)) == (422, ["LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"])

    # when Ana, still logged in, revokes the consent in "Minhas autorizações"
    page.goto(live_server.url + "/minhas-autorizacoes/")
    card = page.locator(f'[data-recurring-consent-id="{consent_id}"]')
    assert card.locator(".recurring-status").inner_text() == "Autorizado"
    assert f"Válido até {expires:%d/%m/%Y %H:%M}" in card.inner_text()
    screenshot(page, "recurring-my-authorisations")
    card.get_by_role("button", name="Revogar").click()
    page.wait_for_url(live_server.url + "/minhas-autorizacoes/")
    screenshot(page, "recurring-my-authorisations-revoked")
    assert card.locator(".recurring-status").inner_text() == "Revogado"
    assert card.get_by_role("button", name="Revogar").count() == 0

    # then the next charge is refused, the TPP reads who revoked it, and the refresh token is dead
    response, body = ap2.post_payment(consent_id, sweeping_payment("10.00"), token=access)
    assert (response.status_code, error_codes(body)) == (422, ["CONSENTIMENTO_INVALIDO"])
    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REVOKED"
    assert (consent["revocation"]["revokedBy"], consent["revocation"]["revokedFrom"]) == ("USUARIO", "DETENTORA")
    assert consent["revocation"]["reason"]["code"] == "REVOGADO_USUARIO"
    refreshed = oauth.post_form(
        "/auth/token", {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")
    assert list(RecurringPayment.objects.values_list("status", flat=True)) == ["ACSC"] * 3
