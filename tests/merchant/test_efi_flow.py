"""The Efí dialect end to end over real HTTP: shop → merchant API → gateway → our holder → sandbox bank."""

import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from merchant.models import Parcel, Plan
from merchant.services.plans import plans_sync_open
from merchant.services.webhooks import webhooks_deliver
from opusof.timeutil import business_date
from payments.models import PixPayment
from tests.merchant.conftest import REDIRECT_URL, WEBHOOK_SECRET, EfiMerchant, MerchantWebhookServer, json_of
from tests.support.payment_bodies import ANA_CPF, MERCHANT_CNPJ

pytestmark = pytest.mark.django_db(transaction=True)

PIX = "/v1/pagamentos-recorrentes/pix"


def plan_body(*, start: dt.date, quantity: int = 3, kind: str = "diaria", amount: str = "9.90") -> dict[str, Any]:
    return {
        "pagador": {"idParticipante": _own_holder(), "cpf": ANA_CPF},
        "favorecido": {
            "contaBanco": {
                "nome": "Loja Exemplo Comercio Ltda",
                "documento": MERCHANT_CNPJ,
                "codigoBanco": "12345678",
                "agencia": "0001",
                "conta": "90000001",
                "tipoConta": "CACC",
            }
        },
        "pagamento": {
            "valor": amount,
            "infoPagador": "Assinatura do clube",
            "idProprio": "pedido-42",
            "recorrencia": {"tipo": kind, "dataInicio": start.isoformat(), "quantidade": quantity},
        },
    }


def _own_holder() -> str:
    from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID

    return OWN_AUTHORISATION_SERVER_ID


def test_create_authorise_list_cancel_with_signed_webhooks(
    efi: EfiMerchant, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    # Given the shop's webhook, secured by HMAC
    config = efi.http.put(
        "/v1/config",
        json={
            "redirectURL": REDIRECT_URL,
            "webhookURL": merchant_webhook.url,
            "webhookSecurity": {"type": "hmac", "hash": WEBHOOK_SECRET},
        },
    )
    assert config.status_code == 200, config.text
    assert efi.http.get("/v1/config").json()["webhookURL"] == merchant_webhook.url
    listed = efi.http.get("/v1/participantes").json()["participantes"]
    assert _own_holder() in [p["identificador"] for p in listed]

    # When the shop creates a daily plan of three parcels starting D+2
    start = business_date() + dt.timedelta(days=2)
    body = plan_body(start=start)
    created = efi.http.post(PIX, json=body, headers={"x-idempotency-key": "plano-0001"})
    assert created.status_code == 200, created.text
    identifier = created.json()["identificadorPagamento"]
    assert identifier.startswith("urn:opusof:")
    again = efi.http.post(PIX, json=body, headers={"x-idempotency-key": "plano-0001"})
    assert again.json() == created.json()
    other = efi.http.post(
        PIX,
        json={**body, "pagamento": {**body["pagamento"], "valor": "1.00"}},
        headers={"x-idempotency-key": "plano-0001"},
    )
    assert (other.status_code, other.json()["nome"]) == (409, "idempotencia_invalida")
    plan = Plan.objects.get()
    assert plan.schedule == {"daily": {"startDate": start.isoformat(), "quantity": 3}}

    # And the payer approves once at the bank; the sweep schedules one Pix per date
    assert efi.authorise(created.json()["redirectURI"]) == f"{REDIRECT_URL}?result=success"
    assert plans_sync_open() == 1
    page = efi.http.get(PIX, params={"inicio": business_date().isoformat(), "fim": business_date().isoformat()})
    assert page.status_code == 200, page.text
    [listed_plan] = page.json()["pagamentos"]
    assert listed_plan["status"] == "ativa" and listed_plan["idProprio"] == "pedido-42"
    parcels = listed_plan["recorrencias"]
    assert [p["status"] for p in parcels] == ["agendado"] * 3
    assert [p["dataOperacao"] for p in parcels] == [(start + dt.timedelta(days=i)).isoformat() for i in range(3)]
    at_holder = PixPayment.objects.filter(consent__consent_id=plan.consent_id)
    assert sorted(at_holder.values_list("status", flat=True)) == ["SCHD"] * 3
    assert {p["endToEndId"] for p in parcels} == set(at_holder.values_list("end_to_end_id", flat=True))

    # Then one parcel is cancelled by its endToEndId, and cancelling the plan cancels exactly the remaining ones
    last = parcels[-1]["endToEndId"]
    one = efi.http.patch(f"{PIX}/{last}/cancelar")
    assert (one.status_code, one.json()["status"], one.json()["endToEndId"]) == (200, "cancelado", last), one.text
    assert list(at_holder.filter(status="CANC").values_list("end_to_end_id", flat=True)) == [last]
    cancelled = efi.http.patch(f"{PIX}/{identifier}/cancelar")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelado"
    assert at_holder.filter(status="CANC").count() == 3
    again_listed = efi.http.get(PIX, params={"inicio": business_date().isoformat(), "fim": business_date().isoformat()})
    assert [p["status"] for p in again_listed.json()["pagamentos"][0]["recorrencias"]] == ["cancelado"] * 3
    assert [h.to_status for h in Parcel.objects.get(sequence=1).history.all()] == ["RCVD", "SCHD", "CANC"]
    assert efi.http.patch(f"{PIX}/{identifier}/cancelar").json()["nome"] == "cancelamento_nao_permitido"

    # And every change reached the shop's webhook once, signed with its HMAC secret
    assert webhooks_deliver() == 8  # plan: ativa, cancelado; each of 3 parcels: agendado, cancelado
    assert webhooks_deliver() == 0
    received = merchant_webhook.received
    assert len(received) == 8
    for raw, headers in received:
        expected = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-efi-hmac-sha256"], expected)
    assert len({headers["x-webhook-event-id"] for _, headers in received}) == 8
    kinds = [(json_of(raw)["tipo"], json_of(raw)["status"]) for raw, _ in received]
    assert kinds.count(("parcela", "agendado")) == 3 and kinds.count(("parcela", "cancelado")) == 3
    assert ("recorrencia", "ativa") in kinds and ("recorrencia", "cancelado") in kinds

    # And staff read the plan, its parcels and their history in the admin (status read-only)
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    admin = Client()
    admin.force_login(staff)
    html = admin.get(f"/admin/merchant/plan/{plan.pk}/change/").content.decode()
    assert "AWAITING_AUTHORISATION" in html and "bank:payment-create" in html and parcels[0]["endToEndId"] in html
    assert admin.get("/admin/merchant/parcel/", {"status__exact": "CANC"}).status_code == 200
    merchant_page = admin.get(f"/admin/merchant/merchant/{efi.merchant.pk}/change/").content.decode()
    assert WEBHOOK_SECRET not in merchant_page and efi.merchant.client_secret_hash not in merchant_page
