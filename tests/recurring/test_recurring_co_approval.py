"""Multi-approver business recurring consents ("Aprovações de múltipla alçada", approvalDueDate) on the bank's pages:
the first representative authorises in the redirect journey (PARTIALLY_ACCEPTED), another finds it in "Minhas
autorizações" and approves (AUTHORISED) or refuses (REJECTED REJEITADO_USUARIO) it, until 23:59 of approvalDueDate.
Over the whole Django stack in-process; the TPP's reads are checked against the spec by AutomaticPaymentsV2."""

import datetime as dt
from typing import Any

import httpx
import pytest

from connectors.models import SandboxCustomer
from opusof.timeutil import business_date
from recurring.models import RecurringConsent
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2, error_codes, over_oauth, recurring_scope
from tests.support.oauth_tpp import OAuthTpp, csrf_of, customer_decides, fragment, wsgi_http
from tests.support.payment_bodies import PADARIA_CNPJ
from tests.support.recurring_bodies import ANA_CPF, BRUNO_CPF, automatic_consent, automatic_payment

DECIDE = "/minhas-autorizacoes/recorrentes/{}/aprovacao"


@pytest.fixture
def oauth(tpp, demo_bank, settings) -> OAuthTpp:
    # the Padaria's core-bank rule: two of its representatives approve (Bruno and, once added, Ana)
    settings.OPUSOF_BUSINESS_APPROVERS = {PADARIA_CNPJ: 2}
    return OAuthTpp(actor=tpp, http=wsgi_http())


@pytest.fixture
def ap2(oauth: OAuthTpp) -> AutomaticPaymentsV2:
    return over_oauth(oauth)


def partially_accepted(oauth: OAuthTpp, ap2: AutomaticPaymentsV2) -> str:
    """A Pix Automático consent of the Padaria that Bruno authorised in the redirect journey."""
    data: dict[str, Any] = automatic_consent(cpf=BRUNO_CPF)
    data["businessEntity"] = {"document": {"identification": PADARIA_CNPJ, "rel": "CNPJ"}}
    consent_id = ap2.create_consent(data)
    flow = oauth.start(consent_id, scope=recurring_scope(consent_id))
    response = customer_decides(
        oauth.http, flow.authorize_url(oauth.client_id), cpf=BRUNO_CPF, action="approve", account="30000001"
    )
    assert "code" in fragment(response.headers["location"])  # the TPP gets its code; the consent waits
    consent = ap2.get_consent(consent_id)
    assert (consent["status"], consent["approvalDueDate"]) == ("PARTIALLY_ACCEPTED", business_date().isoformat())
    return consent_id


def logged_in(cpf: str) -> httpx.Client:
    http = wsgi_http()
    login = http.get("/minhas-autorizacoes/entrar")
    http.post(
        "/minhas-autorizacoes/entrar",
        data={"cpf": cpf, "password": "demo1234", "csrfmiddlewaretoken": csrf_of(login.text)},
    )
    return http


def pending_entry(consent_id: str) -> str:
    return f'class="card pending-recurring" data-recurring-consent-id="{consent_id}"'


def decide(http: httpx.Client, consent_id: str, action: str) -> httpx.Response:
    page = http.get("/minhas-autorizacoes/")
    return http.post(DECIDE.format(consent_id), data={"action": action, "csrfmiddlewaretoken": csrf_of(page.text)})


def make_ana_a_padaria_representative() -> None:
    SandboxCustomer.objects.get(document=PADARIA_CNPJ).authorised_people.add(
        SandboxCustomer.objects.get(document=ANA_CPF)
    )


def test_second_representative_approves_from_minhas_autorizacoes(oauth, ap2):
    consent_id = partially_accepted(oauth, ap2)
    # no charge while an approval is missing (§4.2.2.13)
    response, body = ap2.post_payment(consent_id, automatic_payment("80.00"))
    assert (response.status_code, error_codes(body)) == (422, ["CONSENTIMENTO_PENDENTE_AUTORIZACAO"])

    # Bruno already approved: no pending entry for him, and a second approval of his is refused
    bruno = oauth.http  # still logged in from the journey
    assert pending_entry(consent_id) not in bruno.get("/minhas-autorizacoes/").text
    assert decide(bruno, consent_id, "approve").status_code == 422
    # Ana is no representative of the Padaria yet: she neither sees nor may approve it
    ana = logged_in(ANA_CPF)
    assert pending_entry(consent_id) not in ana.get("/minhas-autorizacoes/").text
    assert decide(ana, consent_id, "approve").status_code == 404
    assert ap2.get_consent(consent_id)["status"] == "PARTIALLY_ACCEPTED"

    # when the bank makes her one, she finds it with its approval deadline and approves
    make_ana_a_padaria_representative()
    page = ana.get("/minhas-autorizacoes/")
    assert pending_entry(consent_id) in page.text
    assert f'class="approval-due">{business_date():%d/%m/%Y}</span> 23:59' in page.text
    response = decide(ana, consent_id, "approve")
    assert (response.status_code, response.headers["location"]) == (302, "/minhas-autorizacoes/")

    # then the consent is AUTHORISED, keeps its approvalDueDate, and the TPP may charge
    consent = ap2.get_consent(consent_id)
    assert (consent["status"], consent["approvalDueDate"]) == ("AUTHORISED", business_date().isoformat())
    assert pending_entry(consent_id) not in ana.get("/minhas-autorizacoes/").text
    history = RecurringConsent.objects.get(recurring_consent_id=consent_id).history.order_by("created_at", "pk")
    assert [(h.to_status, h.actor) for h in history][-2:] == [
        ("PARTIALLY_ACCEPTED", f"customer:{BRUNO_CPF}"),
        ("AUTHORISED", f"customer:{ANA_CPF}"),
    ]
    response, body = ap2.post_payment(consent_id, automatic_payment("80.00"))
    assert response.status_code == 201, body


def test_second_representative_refuses(oauth, ap2):
    consent_id = partially_accepted(oauth, ap2)
    make_ana_a_padaria_representative()
    ana = logged_in(ANA_CPF)
    assert decide(ana, consent_id, "reject").status_code == 302

    consent = ap2.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert (consent["rejection"]["rejectedBy"], consent["rejection"]["rejectedFrom"]) == ("USUARIO", "DETENTORA")
    assert consent["rejection"]["reason"]["code"] == "REJEITADO_USUARIO"
    assert decide(ana, consent_id, "approve").status_code == 422  # nothing left to decide


def test_no_approval_after_the_approval_due_date(oauth, ap2):
    consent_id = partially_accepted(oauth, ap2)
    make_ana_a_padaria_representative()
    ana = logged_in(ANA_CPF)
    assert pending_entry(consent_id) in ana.get("/minhas-autorizacoes/").text
    # the day passes: 23:59 of approvalDueDate is behind us and no sweep has run yet
    row = RecurringConsent.objects.get(recurring_consent_id=consent_id)
    RecurringConsent.objects.filter(pk=row.pk).update(
        authorisation_deadline=row.authorisation_deadline - dt.timedelta(days=1)
    )
    assert pending_entry(consent_id) not in ana.get("/minhas-autorizacoes/").text
    response = decide(ana, consent_id, "approve")
    assert response.status_code == 422
    # the refusal keeps the expiry it found (REJECTED before any GET's lazy expiry)
    assert RecurringConsent.objects.get(pk=row.pk).status == "REJECTED"
    consent = ap2.get_consent(consent_id)
    assert consent["rejection"]["reason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"
    assert (consent["rejection"]["rejectedBy"], consent["rejection"]["rejectedFrom"]) == ("DETENTORA", "DETENTORA")
