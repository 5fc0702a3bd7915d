"""Refunds of settled parcels end to end over real HTTP: shop → merchant API (Efí or Belvo) → the refund connector
(the sandbox bank keeps the demo merchant's account) → the shop's webhook, exactly once, with the dialect's
security; every refusal in the dialect's own error shape; an unknown outcome resolved by asking the bank."""

import datetime as dt
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.models import SandboxAccount, SandboxPixRefund
from merchant.models import Parcel, Plan, Refund, RefundStatus
from merchant.services.merchants import merchant_configure
from merchant.services.plans import plans_sync_open
from merchant.services.refunds import refunds_resolve_open
from merchant.services.webhooks import webhooks_deliver
from opusof.timeutil import business_date
from tests.merchant.conftest import REDIRECT_URL, WEBHOOK_SECRET, EfiMerchant, MerchantWebhookServer, json_of
from tests.support.merchant_refunds import (
    MERCHANT_ACCOUNT_NUMBER,
    LosesAnswers,
    belvo_intent_body,
    efi_plan_body,
    settle_due_parcels,
)

pytestmark = pytest.mark.django_db(transaction=True)

PIX = "/v1/pagamentos-recorrentes/pix"
INTENTS = "/payments/br/payment-intents/"


def _balance(number: str) -> Decimal:
    return SandboxAccount.objects.get(number=number).balance


def _refusal(response: httpx.Response, status: int, name: str) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"nome", "mensagem"}, response.text
    assert response.json()["nome"] == name, response.text
    return str(response.json()["mensagem"])


def _belvo_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()
    assert set(error) == {"code", "message", "request_id", "field"} and error["code"] == code, response.text
    return dict(error)


def _efi_plan_with_one_settled_parcel(efi: EfiMerchant) -> tuple[str, list[str]]:
    start = business_date() + dt.timedelta(days=1)
    created = efi.http.post(PIX, json=efi_plan_body(start=start, quantity=2))
    assert created.status_code == 200, created.text
    assert efi.authorise(created.json()["redirectURI"]) == f"{REDIRECT_URL}?result=success"
    assert plans_sync_open() == 1
    settle_due_parcels(start)
    parcels = list(Parcel.objects.order_by("sequence"))
    assert [p.status for p in parcels] == ["ACSC", "SCHD"]
    return created.json()["identificadorPagamento"], [p.end_to_end_id for p in parcels]


def test_efi_refund_of_a_settled_parcel_with_one_signed_webhook(
    efi: EfiMerchant, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    config = efi.http.put(
        "/v1/config",
        json={
            "redirectURL": REDIRECT_URL,
            "webhookURL": merchant_webhook.url,
            "webhookSecurity": {"type": "hmac", "hash": WEBHOOK_SECRET},
        },
    )
    assert config.status_code == 200, config.text
    identifier, (paid, scheduled) = _efi_plan_with_one_settled_parcel(efi)
    merchant_before, ana_before = _balance(MERCHANT_ACCOUNT_NUMBER), _balance("10000001")
    assert merchant_before == Decimal("1000.00")  # Pix paid to it leave the sandbox's books: its float pays refunds

    # When the shop refunds R$ 5.00 of the settled parcel
    body = {"devolucoes": [{"endToEndId": paid, "valor": "5.00"}]}
    answer = efi.http.post(f"{PIX}/{identifier}/devolver", json=body, headers={"x-idempotency-key": "dev-1"})

    # Then it is accepted as the seed writes it, pending; the merchant's bank returned the money once
    assert answer.status_code == 202, answer.text
    [item] = answer.json()
    assert set(item) == {"identificadorPagamento", "endToEndId", "identificadorDevolucao", "valor", "dataCriacao"} | {
        "status"
    }
    assert (item["identificadorPagamento"], item["endToEndId"], item["valor"], item["status"]) == (
        identifier,
        paid,
        "5.00",
        "pendente",
    )
    refund = Refund.objects.get()
    assert refund.refund_id == item["identificadorDevolucao"] and refund.status == RefundStatus.REFUNDED
    assert [(h.from_status, h.to_status) for h in refund.history.all()] == [("CREATED", "REFUNDED")]
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == merchant_before - 5 and _balance("10000001") == ana_before + 5
    listed = efi.http.get(PIX, params={"inicio": business_date().isoformat(), "fim": business_date().isoformat()})
    [first, second] = listed.json()["pagamentos"][0]["recorrencias"]
    assert [(d["identificadorDevolucao"], d["valor"], d["status"]) for d in first["devolucoes"]] == [
        (refund.refund_id, "5.00", "aceito")
    ]
    assert second["devolucoes"] == []

    # And a replay answers the same refund; the key with another body is refused
    again = efi.http.post(f"{PIX}/{identifier}/devolver", json=body, headers={"x-idempotency-key": "dev-1"})
    assert again.status_code == 202 and again.json()[0]["identificadorDevolucao"] == refund.refund_id
    other = {"devolucoes": [{"endToEndId": paid, "valor": "1.00"}]}
    conflict = efi.http.post(f"{PIX}/{identifier}/devolver", json=other, headers={"x-idempotency-key": "dev-1"})
    _refusal(conflict, 409, "idempotencia_invalida")

    # And every refusal is Efí's {nome, mensagem}, with nothing recorded
    over = {"devolucoes": [{"endToEndId": paid, "valor": "4.91"}]}
    assert "4.90" in _refusal(efi.http.post(f"{PIX}/{identifier}/devolver", json=over), 422, "valor_devolucao_atingido")
    both = {"devolucoes": [{"endToEndId": paid, "valor": "1.00"}, {"endToEndId": scheduled, "valor": "1.00"}]}
    _refusal(efi.http.post(f"{PIX}/{identifier}/devolver", json=both), 422, "devolucao_nao_permitida")
    unknown = {"devolucoes": [{"endToEndId": f"{paid[:-3]}zzz", "valor": "1.00"}]}
    _refusal(efi.http.post(f"{PIX}/{identifier}/devolver", json=unknown), 404, "pagamento_nao_encontrado")
    _refusal(efi.http.post(f"{PIX}/urn:opusof:nao-existe/devolver", json=body), 404, "pagamento_nao_encontrado")
    _refusal(efi.http.post(f"{PIX}/{identifier}/devolver", json={"devolucoes": []}), 400, "json_invalido")
    bad_amount = {"devolucoes": [{"endToEndId": paid, "valor": "5"}]}
    assert "valor" in _refusal(efi.http.post(f"{PIX}/{identifier}/devolver", json=bad_amount), 400, "json_invalido")
    broken = efi.http.post(f"{PIX}/{identifier}/devolver", content=b"{", headers={"content-type": "application/json"})
    _refusal(broken, 400, "json_invalido")
    no_token = httpx.post(f"{efi.http.base_url}{PIX}/{identifier}/devolver", json=body)
    _refusal(no_token, 401, "nao_autorizado")
    assert Refund.objects.count() == 1 and SandboxPixRefund.objects.count() == 1
    # The rest of the parcel can still be refunded by its endToEndId in the path
    rest = efi.http.post(f"{PIX}/{paid}/devolver", json={"devolucoes": [{"endToEndId": paid, "valor": "4.90"}]})
    assert rest.status_code == 202, rest.text
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == merchant_before - Decimal("9.90")

    # Then each refund reached the shop's webhook once, signed with its HMAC secret
    webhooks_deliver()
    assert webhooks_deliver() == 0
    refunds = [(raw, headers) for raw, headers in merchant_webhook.received if json_of(raw)["tipo"] == "devolucao"]
    assert sorted((json_of(raw)["valor"], json_of(raw)["status"]) for raw, _ in refunds) == [
        ("4.90", "aceito"),
        ("5.00", "aceito"),
    ]
    for raw, headers in refunds:
        expected = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-efi-hmac-sha256"], expected)
        assert json_of(raw)["identificadorPagamento"] == identifier and json_of(raw)["endToEndId"] == paid
    assert len({headers["x-webhook-event-id"] for _, headers in merchant_webhook.received}) == len(
        merchant_webhook.received
    )

    # And staff read the refund and its history in the admin
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    admin = Client()
    admin.force_login(staff)
    html = admin.get(f"/admin/merchant/refund/{refund.pk}/change/").content.decode()
    assert refund.refund_id in html and "bank:refund-send" in html
    assert admin.get("/admin/connectors/sandboxpixrefund/").status_code == 200


def test_belvo_refund_left_pending_by_an_offline_bank_is_resolved_by_the_poll(
    efi: EfiMerchant, merchant_webhook: MerchantWebhookServer, eager_celery: None
):
    merchant_configure(
        merchant=efi.merchant,
        redirect_url=REDIRECT_URL,
        webhook_url=merchant_webhook.url,
        webhook_security="hmac",
        webhook_secret=WEBHOOK_SECRET,
    )
    belvo = httpx.Client(base_url=efi.http.base_url, timeout=60, auth=(efi.merchant.client_id, efi.secret))
    start = business_date() + dt.timedelta(days=1)
    created = belvo.post(INTENTS, json=belvo_intent_body(start=start), headers={"Belvo-Idempotency-Key": "i-1"})
    assert created.status_code == 201, created.text
    intent = created.json()
    efi.authorise(intent["payment_method_information"]["open_finance"]["redirect_url"])
    plans_sync_open()
    settle_due_parcels(start)
    paid, scheduled = (str(p.id) for p in Parcel.objects.order_by("sequence"))
    refunds_path = f"{INTENTS}{intent['id']}/charges/{paid}/refunds/"
    key = {"Belvo-Idempotency-Key": "r-1"}

    # Given the merchant's bank is down when the shop refunds
    SandboxAccount.objects.filter(number=MERCHANT_ACCOUNT_NUMBER).update(behaviour="OFFLINE")
    answer = belvo.post(refunds_path, json={"amount": "10.00", "description": "Produto devolvido"}, headers=key)

    # Then the refund is recorded and pending, nothing moved; a replay answers the same refund
    assert answer.status_code == 201, answer.text
    refund = answer.json()
    assert (refund["status"], refund["amount"], refund["charge_id"]) == ("PENDING", "10.00", paid)
    stored = Refund.objects.get()
    assert stored.status == RefundStatus.CREATED and "ConnectorUnavailable" in stored.last_error
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == Decimal("1000.00")
    assert (
        belvo.post(refunds_path, json={"amount": "10.00", "description": "Produto devolvido"}, headers=key).json()["id"]
        == refund["id"]
    )
    _belvo_error(belvo.post(refunds_path, json={"amount": "9.00"}, headers=key), 409, "idempotency_key_reused")
    # A pending refund counts against what remains of the charge
    over = belvo.post(refunds_path, json={"amount": "15.01"}, headers={"Belvo-Idempotency-Key": "r-2"})
    assert _belvo_error(over, 422, "refund_amount_exceeded")["field"] == "amount"

    # When the bank is back and the poll comes
    SandboxAccount.objects.filter(number=MERCHANT_ACCOUNT_NUMBER).update(behaviour="NORMAL")
    assert refunds_resolve_open() == 0  # not due yet
    Refund.objects.update(next_poll_at=stored.created_at)
    assert refunds_resolve_open() == 1

    # Then it is sent once (same id) and succeeds; the shop is told once, with its bearer token
    assert belvo.get(refunds_path).json()["results"][0]["status"] == "SUCCEEDED"
    assert SandboxPixRefund.objects.get().refund_id == Refund.objects.get().refund_id
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == Decimal("990.00")
    assert [h.actor for h in Refund.objects.get().history.all()] == ["bank:refund-send"]
    webhooks_deliver()
    updates = [(raw, h) for raw, h in merchant_webhook.received if json_of(raw)["webhook_type"] == "REFUNDS"]
    assert len(updates) == 1
    [(raw, headers)] = updates
    assert headers["authorization"] == f"Bearer {WEBHOOK_SECRET}"
    assert json_of(raw)["object_id"] == refund["id"]
    assert json_of(raw)["data"] == {
        "status": "SUCCEEDED",
        "previous_status": "PENDING",
        "payment_intent_id": intent["id"],
        "charge_id": paid,
        "amount": "10.00",
    }
    assert refunds_resolve_open() == 0

    # And every refusal is Belvo's list of errors
    unsettled = f"{INTENTS}{intent['id']}/charges/{scheduled}/refunds/"
    _belvo_error(
        belvo.post(unsettled, json={"amount": "1.00"}, headers={"Belvo-Idempotency-Key": "r-3"}),
        422,
        "refund_not_allowed",
    )
    _belvo_error(
        belvo.post(f"{INTENTS}{intent['id']}/charges/nao-existe/refunds/", json={"amount": "1.00"}, headers=key),
        404,
        "not_found",
    )
    assert (
        _belvo_error(belvo.post(refunds_path, json={"amount": "1.00"}), 400, "invalid")["field"]
        == "Belvo-Idempotency-Key"
    )
    assert _belvo_error(belvo.post(refunds_path, json={"amount": 1}, headers=key), 400, "invalid")["field"] == "amount"
    assert Refund.objects.count() == 1
    belvo.close()


def test_a_lost_answer_is_resolved_by_asking_the_bank_without_refunding_twice(
    efi: EfiMerchant, settings: Any, eager_celery: None
):
    identifier, (paid, _) = _efi_plan_with_one_settled_parcel(efi)
    settings.OPUSOF_REFUND_CONNECTOR = "tests.support.merchant_refunds.LosesAnswers"
    LosesAnswers.sent = 0
    answer = efi.http.post(f"{PIX}/{identifier}/devolver", json={"devolucoes": [{"endToEndId": paid, "valor": "9.90"}]})
    assert answer.status_code == 202 and answer.json()[0]["status"] == "pendente", answer.text
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.CREATED and "ConnectorOutcomeUnknown" in refund.last_error
    assert _balance(MERCHANT_ACCOUNT_NUMBER) == Decimal("990.10")  # the bank did it; we do not know yet

    Refund.objects.update(next_poll_at=refund.created_at)
    assert refunds_resolve_open() == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED and refund.return_id.startswith("D12345678")
    assert [h.actor for h in refund.history.all()] == ["bank:refund-poll"]
    assert LosesAnswers.sent == 1 and SandboxPixRefund.objects.count() == 1
    assert Plan.objects.get().parcels.get(end_to_end_id=paid).refunds.count() == 1
