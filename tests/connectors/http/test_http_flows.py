"""Payments v4 end to end through the HTTP connector and the reference bank: every regulated response is validated
against payments-4.0.0.yml (the ``v4`` fixture), every bank call goes over a real local socket."""

from decimal import Decimal

import pytest

from connectors.http import HttpBank, calllog
from connectors.models import ConnectorCall, SandboxAccount, SandboxLedgerEntry
from connectors.registry import account_discovery, payment_initiator
from connectors.sandbox import SandboxBank
from consents.models import PaymentConsent
from consents.services import consent_authorise
from opusof.timeutil import business_date
from payments.models import PixPayment
from payments.services import payment_poll_status
from tests.support.payment_bodies import ANA_ACCOUNT, ANA_CPF, BRUNO_ACCOUNT, BRUNO_CPF, consent_data, own, payment_item

pytestmark = pytest.mark.django_db(transaction=True)


def balance(account: dict) -> Decimal:
    return SandboxAccount.objects.get(number=account["number"]).balance


def routes_called() -> list[tuple[str, str, int | None]]:
    assert calllog.flush()
    return [(c.route, c.outcome, c.http_status) for c in ConnectorCall.objects.order_by("created_at", "pk")]


def pay(v4, data=None, **item_overrides):
    data = data or consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data, **item_overrides)])
    return consent_id, response, body


def test_consent_with_account_discovery_and_validation(v4, http_connectors):
    assert isinstance(account_discovery(), HttpBank)
    consent_id = v4.create_consent(consent_data())

    accounts = account_discovery().discover_accounts(customer_document=ANA_CPF)
    # Ana's salary account may not pay, so the bank leaves it out (contract FAQ: payable accounts only).
    assert {a.account.number for a in accounts} == {"10000001", "10000002"}
    chosen = next(a for a in accounts if a.account.number == ANA_ACCOUNT["number"])
    assert chosen.holder_name == "Ana Souza" and chosen.holder_document == ANA_CPF

    consent = consent_authorise(consent_id=consent_id, debtor_account=chosen.account, actor="customer:test")

    assert consent.status == "AUTHORISED"
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    assert routes_called() == [("discovery", "OK", 200), ("validate", "OK", 200)]


def test_consent_refused_by_the_bank_is_rejected_with_its_reason(v4, http_connectors):
    consent_id = v4.create_consent(consent_data(amount="100.00", logged_cpf=BRUNO_CPF))
    [bruno] = account_discovery().discover_accounts(customer_document=BRUNO_CPF)

    consent = consent_authorise(consent_id=consent_id, debtor_account=bruno.account, actor="customer:test")

    assert consent.status == "REJECTED"
    assert consent.rejection_reason == "SALDO_INSUFICIENTE"
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "SALDO_INSUFICIENTE"
    assert ("validate", "OK", 422) in routes_called()
    assert balance(BRUNO_ACCOUNT) == Decimal("50.00")


def test_immediate_payment(v4, http_connectors):
    before = balance(ANA_ACCOUNT)

    consent_id, response, body = pay(v4)

    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "ACSC"
    assert balance(ANA_ACCOUNT) == before - Decimal("100.00")
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "CONSUMED"
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    [initiation] = ConnectorCall.objects.filter(route="initiate") if calllog.flush() else []
    # The bank call carries the TPP request's x-fapi-interaction-id as its correlation id, and our idempotency key.
    assert initiation.correlation_id == response["x-fapi-interaction-id"]
    assert initiation.idempotency_key == payment["paymentId"]
    assert (initiation.outcome, initiation.http_status, initiation.attempt) == ("OK", 201, 1)
    assert initiation.latency_ms > 0


def test_payment_refused_by_the_bank_is_the_regulated_422(v4, http_connectors):
    data = consent_data(amount="20422.00")  # sandbox scenario: the holder refuses at initiation

    consent_id, response, body = pay(v4, data)

    assert response.status_code == 422, body
    assert [e["code"] for e in body["errors"]] == ["PAGAMENTO_RECUSADO_DETENTORA"]
    # No payment for the TPP; the record made before the bank was asked stays, refused and hidden.
    assert not PixPayment.objects.visible().filter(consent__consent_id=consent_id).exists()
    [kept] = PixPayment.objects.filter(consent__consent_id=consent_id)
    assert (kept.status, kept.refused_at_creation) == ("RJCT", True)
    assert ("initiate", "REJECTED", 422) in routes_called()


def test_scheduled_payment_then_cancelled(v4, http_connectors):
    day = business_date().fromordinal(business_date().toordinal() + 3)
    data = consent_data(schedule={"single": {"date": day.isoformat()}})
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data, day=day)])
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "SCHD"

    response, body = v4.cancel_payment(payment["paymentId"])

    assert response.status_code == 200, body
    assert body["data"]["status"] == "CANC"
    assert ("cancel", "OK", 200) in routes_called()
    # A second cancellation is refused by the bank as well as by opusof; nothing is retried on a 4xx.
    again, again_body = v4.cancel_payment(payment["paymentId"])
    assert again.status_code == 422, again_body


def test_status_polling(v4, http_connectors):
    consent_id, response, body = pay(v4, consent_data(amount="12345.00"))  # scenario: PDNG, settles later
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "PDNG"
    assert payment_poll_status(payment_id=payment["paymentId"]).status == "PDNG"

    SandboxBank().force_settle(payment["paymentId"])
    polled = payment_poll_status(payment_id=payment["paymentId"])

    assert polled.status == "ACSC"
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert [c for c in routes_called() if c[0] == "status"] == [("status", "OK", 200), ("status", "OK", 200)]
    assert SandboxLedgerEntry.objects.filter(payment__payment_id=payment["paymentId"], direction="DEBIT").count() == 1


def test_registry_builds_one_http_bank_for_all_capabilities(http_connectors):
    assert payment_initiator() is account_discovery()
    assert payment_initiator().base_url == http_connectors.base_url  # type: ignore[attr-defined]
