"""Customer pages outside the consent flow: the pluggable authenticator, and "Minhas autorizações" scoping."""

import datetime as dt

from django.test import override_settings

from opusof.authserver.customers import Customer
from opusof.timeutil import business_date
from tests.support.oauth_tpp import OAuthTpp, csrf_of, customer_decides, fragment, wsgi_http
from tests.support.payment_bodies import ANA_CPF, BRUNO_CPF, consent_data, payment_item
from tests.support.payments_v4 import PaymentsV4


def only_bruno(cpf: str, password: str) -> Customer | None:
    """A stand-in core-banking login: Bruno with a one-time code."""
    return Customer(document=BRUNO_CPF, name="Bruno (otp)") if (cpf, password) == (BRUNO_CPF, "123456") else None


def login(http, cpf: str, password: str = "demo1234"):
    page = http.get("/minhas-autorizacoes/entrar")
    return http.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": cpf, "password": password, "csrfmiddlewaretoken": csrf_of(page.text)},
    )


@override_settings(OPUSOF_CUSTOMER_AUTHENTICATOR="tests.authserver.test_customer_pages.only_bruno")
def test_authenticator_is_pluggable(demo_bank):
    http = wsgi_http()
    assert login(http, ANA_CPF).status_code == 401  # the sandbox password means nothing to this authenticator
    assert login(http, BRUNO_CPF, "123456").status_code == 302
    page = http.get("/minhas-autorizacoes/")
    assert "Bruno (otp)" in page.text


def test_customer_sees_and_cancels_only_own_payments(tpp, demo_bank):
    oauth = OAuthTpp(actor=tpp, http=wsgi_http())
    v4 = PaymentsV4(tpp=tpp, token=oauth.client_credentials())
    day = business_date() + dt.timedelta(days=4)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.create_consent(data)
    flow = oauth.start(consent_id)
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=ANA_CPF, action="approve", account="10000001"
    )
    token = oauth.exchange(fragment(response.headers["location"])["code"], flow).json()["access_token"]
    _, body = v4.post_payments(consent_id, [payment_item(data, day=day)], token=token)
    payment_id = body["data"][0]["paymentId"]
    # Bruno sees nothing of Ana's and cannot cancel her payment
    bruno = wsgi_http()
    login(bruno, BRUNO_CPF)
    assert payment_id not in bruno.get("/minhas-autorizacoes/").text
    cancel_url = f"/minhas-autorizacoes/pagamentos/{payment_id}/cancelar"
    assert bruno.get(cancel_url).status_code == 404
    # Ana does, and cancels it
    page = oauth.http.get("/minhas-autorizacoes/")
    assert f'id="cancel-link-{payment_id}"' in page.text
    form = oauth.http.get(cancel_url)
    assert 'id="cancel-button"' in form.text
    response = oauth.http.post(cancel_url, data={"csrfmiddlewaretoken": csrf_of(form.text)})
    assert response.status_code == 302
    cancelled = v4.get_payment(payment_id)
    assert cancelled["status"] == "CANC"
    assert cancelled["cancellation"]["cancelledFrom"] == "DETENTORA"
    # a second cancellation is refused on the page, not with a 500
    response = oauth.http.post(cancel_url, data={"csrfmiddlewaretoken": csrf_of(form.text)})
    assert response.status_code == 422
    assert 'id="cancel-error"' in response.text
    assert 'id="cancel-button"' not in response.text


def test_pages_require_login(demo_bank):
    http = wsgi_http()
    response = http.get("/minhas-autorizacoes/")
    assert response.status_code == 302
    assert response.headers["location"] == "/minhas-autorizacoes/entrar"
