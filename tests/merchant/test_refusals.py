"""The payer's bank refusing, told to the merchant in its dialect (docs/merchant.md tables), never as OFB."""

import datetime as dt

import pytest
from django.core.management import call_command

from merchant.models import Merchant, Plan
from merchant.services.plans import plans_sync_open
from opusof.timeutil import business_date
from tests.merchant.conftest import EfiMerchant
from tests.merchant.test_belvo_flow import INTENTS, intent_body
from tests.merchant.test_efi_flow import PIX, plan_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_consent_refused_by_the_bank_is_pagamento_recusado(efi: EfiMerchant):
    body = plan_body(start=business_date() + dt.timedelta(days=2), amount="10422.00")
    refused = efi.http.post(PIX, json=body, headers={"x-idempotency-key": "recusa-1"})
    assert refused.status_code == 422, refused.text
    assert set(refused.json()) == {"nome", "mensagem"} and refused.json()["nome"] == "pagamento_recusado"
    assert "NAO_INFORMADO" not in refused.text and "errors" not in refused.text
    plan = Plan.objects.get()
    assert plan.status == "REJECTED" and "NAO_INFORMADO" in plan.history.get().reason
    again = efi.http.post(PIX, json=body, headers={"x-idempotency-key": "recusa-1"})
    assert (again.status_code, again.json()) == (422, refused.json())
    belvo = efi.http.post(
        INTENTS,
        json=intent_body({"single": {"date": (business_date() + dt.timedelta(days=2)).isoformat()}}, amount="10422.00"),
        headers={"Belvo-Idempotency-Key": "recusa-2", "authorization": ""},
        auth=(efi.merchant.client_id, efi.secret),
    )
    assert belvo.status_code == 422 and belvo.json()[0]["code"] == "payment_rejected", belvo.text


def test_payments_refused_after_authorisation_are_rejeitado(efi: EfiMerchant, eager_celery: None):
    body = plan_body(start=business_date() + dt.timedelta(days=2), amount="20422.00")
    created = efi.http.post(PIX, json=body)
    assert created.status_code == 200, created.text
    efi.authorise(created.json()["redirectURI"])
    plans_sync_open()
    today = business_date().isoformat()
    [listed] = efi.http.get(PIX, params={"inicio": today, "fim": today}).json()["pagamentos"]
    assert listed["status"] == "rejeitado"
    assert [p["status"] for p in listed["recorrencias"]] == ["rejeitado"] * 3
    # payments v4: a refused item of a multi-date request rejects every item with FALHA_AGENDAMENTO_PAGAMENTOS
    last = Plan.objects.get().history.last()
    assert last is not None and last.reason == "FALHA_AGENDAMENTO_PAGAMENTOS"


def test_the_command_creates_a_merchant_that_can_get_a_token(capsys: pytest.CaptureFixture[str]):
    call_command("merchant_create", name="Loja Dois", redirect_url="https://loja2.example.com/retorno")
    out = capsys.readouterr().out
    assert Merchant.objects.get(name="Loja Dois").client_id in out and "client_secret=" in out
