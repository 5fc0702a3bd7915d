"""Efí: a cancelled parcel replaced through a new authorisation (``/substituir``), per-scope tokens, and the
webhook security setting — over real HTTP, the gateway reaching our own holder."""

import datetime as dt

import pytest

from merchant.models import Parcel, Plan
from merchant.services.plans import plans_sync_open
from merchant.services.substitution import replacements_sync
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.merchant.conftest import REDIRECT_URL, EfiMerchant
from tests.merchant.test_efi_flow import PIX, plan_body

pytestmark = pytest.mark.django_db(transaction=True)


def _refusal(response, status: int, name: str) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"nome", "mensagem"} and response.json()["nome"] == name, response.text
    return str(response.json()["mensagem"])


def test_a_cancelled_parcel_is_replaced_by_a_new_authorisation(efi: EfiMerchant, eager_celery: None):
    start = business_date() + dt.timedelta(days=2)
    created = efi.http.post(PIX, json=plan_body(start=start))
    assert created.status_code == 200, created.text
    identifier = created.json()["identificadorPagamento"]
    efi.authorise(created.json()["redirectURI"])
    plans_sync_open()
    plan = Plan.objects.get()
    first, _, last = (p.end_to_end_id for p in plan.parcels.order_by("sequence"))
    replace_last = f"{PIX}/{identifier}/substituir/{last}"

    # Only a cancelled or rejected parcel can be replaced; each refusal in Efí's words, nothing recorded
    _refusal(efi.http.patch(f"{PIX}/{identifier}/substituir/{first}", json={}), 422, "substituicao_nao_permitida")
    _refusal(efi.http.patch(replace_last, json={"valor": "12.00"}), 422, "substituicao_nao_permitida")
    unknown = f"{PIX}/{identifier}/substituir/E12345678203001011500abcdefghijk"
    _refusal(efi.http.patch(unknown), 404, "pagamento_nao_encontrado")
    _refusal(efi.http.patch(f"{PIX}/urn:opusof:{plan.pk}x/substituir/{last}"), 404, "pagamento_nao_encontrado")
    cancelled = efi.http.patch(f"{PIX}/{last}/cancelar")
    assert cancelled.json()["status"] == "cancelado", cancelled.text
    assert "valor" in _refusal(efi.http.patch(replace_last, json={"valor": "12"}), 400, "json_invalido")
    _refusal(efi.http.patch(replace_last, json=["12.00"]), 400, "json_invalido")
    assert Parcel.objects.count() == 3

    # When the shop replaces the cancelled parcel with another amount
    replaced = efi.http.patch(replace_last, json={"valor": "12.00"})
    assert replaced.status_code == 200, replaced.text
    assert set(replaced.json()) == {"identificadorPagamento", "redirectURI"}
    assert replaced.json()["identificadorPagamento"] == identifier
    assert efi.http.patch(replace_last, json={"valor": "12.00"}).json() == replaced.json()
    new = Parcel.objects.get(replaces__end_to_end_id=last)
    assert (new.sequence, new.amount, new.status, new.date) == (4, 12, "CREATED", start + dt.timedelta(days=2))
    assert new.consent_id and new.consent_id != plan.consent_id

    # Then the payer authorises the new consent once, and the sweep schedules the one payment at the holder
    assert efi.authorise(replaced.json()["redirectURI"]) == f"{REDIRECT_URL}?result=success"
    assert replacements_sync() == 1
    at_holder = PixPayment.objects.get(end_to_end_id=new.end_to_end_id)
    assert (at_holder.status, at_holder.amount, at_holder.consent.consent_id) == ("SCHD", 12, new.consent_id)
    today = business_date().isoformat()
    [listed] = efi.http.get(PIX, params={"inicio": today, "fim": today}).json()["pagamentos"]
    assert [(p["status"], p["valor"]) for p in listed["recorrencias"]] == [
        ("agendado", "9.90"),
        ("agendado", "9.90"),
        ("cancelado", "9.90"),
        ("agendado", "12.00"),
    ]
    assert [h.to_status for h in Parcel.objects.get(pk=new.pk).history.all()] == ["SCHD"]


def test_tokens_carry_scopes_and_config_takes_mtls(efi: EfiMerchant):
    asked = efi.http.post(
        "/v1/oauth/token",
        json={"grant_type": "client_credentials", "scope": "gn.opb.payment.pix.read gn.opb.config.write"},
        auth=(efi.merchant.client_id, efi.secret),
        headers={"authorization": ""},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["scope"] == "gn.opb.payment.pix.read gn.opb.config.write"
    reader = {"authorization": f"Bearer {asked.json()['access_token']}"}
    today = business_date().isoformat()
    assert efi.http.get(PIX, params={"inicio": today, "fim": today}, headers=reader).status_code == 200
    body = plan_body(start=business_date() + dt.timedelta(days=2))
    assert "gn.opb.payment.pix.send" in _refusal(efi.http.post(PIX, json=body, headers=reader), 403, "acesso_negado")
    _refusal(efi.http.patch(f"{PIX}/urn:opusof:x/cancelar", headers=reader), 403, "acesso_negado")
    _refusal(efi.http.get("/v1/config", headers=reader), 403, "acesso_negado")
    assert not Plan.objects.exists()
    bad_scope = efi.http.post(
        "/v1/oauth/token",
        json={"grant_type": "client_credentials", "scope": "gn.opb.payment.pix.send admin"},
        auth=(efi.merchant.client_id, efi.secret),
        headers={"authorization": ""},
    )
    assert "scope" in _refusal(bad_scope, 400, "json_invalido")

    # webhookSecurity mtls: https only, no HMAC secret shown
    mtls = {"redirectURL": REDIRECT_URL, "webhookSecurity": {"type": "mtls"}}
    plain = efi.http.put("/v1/config", json={**mtls, "webhookURL": "http://loja.example.com/hook"}, headers=reader)
    assert "webhookURL" in _refusal(plain, 400, "json_invalido")
    secured = efi.http.put("/v1/config", json={**mtls, "webhookURL": "https://loja.example.com/hook"}, headers=reader)
    assert secured.status_code == 200, secured.text
    assert secured.json()["webhookSecurity"] == {"type": "mtls"}
    assert efi.http.get("/v1/config").json()["webhookURL"] == "https://loja.example.com/hook"
