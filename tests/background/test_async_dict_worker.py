"""Payments v4 §4.2: with OPUSOF_DICT_CHECK=async a payment with a Pix key is answered RCVD (consent CONSUMED),
and the worker runs the DICT check: a refusal is RJCT with the DICT's reason, seen on GET; a valid key settles."""

from decimal import Decimal

import pytest

from connectors.models import SandboxAccount
from consents.models import PaymentConsent
from opusof.outbox.models import EventKind, OutboxEvent
from payments.batches import payment_batch_submit
from payments.models import PixPayment
from payments.services import payments_due_for_poll
from tests.support.celery_workers import wait_until
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item

FAKE_PROXY = "fakeperson@example.com"  # the sandbox DICT does not know it (README's scenario table)
MERCHANT_PROXY = "loja@example.com"


@pytest.fixture
def async_dict(settings):
    settings.OPUSOF_DICT_CHECK = "async"


def _received(v4, proxy: str) -> tuple[str, str]:
    data = consent_data(instrument="DICT", proxy=proxy)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "RCVD"
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "CONSUMED"
    return consent_id, payment["paymentId"]


def _balance(account: dict) -> Decimal:
    return SandboxAccount.objects.get(number=account["number"]).balance


def test_unknown_key_is_received_then_rejected_with_the_dict_reason(v4, async_dict):
    before = _balance(ANA_ACCOUNT)
    _, payment_id = _received(v4, FAKE_PROXY)

    payment_batch_submit(batch_id=str(PixPayment.objects.get(payment_id=payment_id).batch_id))

    body = v4.get_payment(payment_id)  # validated against payments-4.0.0.yml
    assert body["status"] == "RJCT"
    assert body["rejectionReason"]["code"] == "DETALHE_PAGAMENTO_INVALIDO"
    assert _balance(ANA_ACCOUNT) == before
    history = PixPayment.objects.get(payment_id=payment_id).history.values_list("to_status", "actor")
    assert list(history) == [("RCVD", f"tpp:{v4.tpp.client.client_id}"), ("RJCT", "system:dict")]


def test_known_key_is_received_then_paid_once(v4, async_dict):
    before = _balance(ANA_ACCOUNT)
    _, payment_id = _received(v4, MERCHANT_PROXY)
    batch_id = str(PixPayment.objects.get(payment_id=payment_id).batch_id)

    payment_batch_submit(batch_id=batch_id)
    payment_batch_submit(batch_id=batch_id)  # a redelivered task changes nothing

    assert v4.get_payment(payment_id)["status"] == "ACSC"
    assert _balance(ANA_ACCOUNT) == before - Decimal("100.00")


def test_bank_offline_after_the_dict_is_an_infrastructure_failure(v4, async_dict):
    _, payment_id = _received(v4, MERCHANT_PROXY)
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(behaviour=SandboxAccount.Behaviour.OFFLINE)

    payment_batch_submit(batch_id=str(PixPayment.objects.get(payment_id=payment_id).batch_id))

    body = v4.get_payment(payment_id)
    assert body["status"] == "RJCT"
    assert body["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA_DETENTORA"
    assert payment_id not in payments_due_for_poll()


def test_synchronous_mode_is_unchanged_by_the_setting_default(v4):
    data = consent_data(instrument="DICT", proxy=FAKE_PROXY)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 422
    assert not PixPayment.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_the_worker_runs_the_asynchronous_dict_check(v4, async_dict, start_worker):
    worker = start_worker(OPUSOF_DICT_CHECK="async")
    _, refused = _received(v4, FAKE_PROXY)
    _, paid = _received(v4, MERCHANT_PROXY)

    payments = PixPayment.objects.filter(payment_id__in=[refused, paid])
    wait_until(lambda: "RCVD" not in set(payments.values_list("status", flat=True)), workers=[worker], timeout=30)

    assert v4.get_payment(refused)["rejectionReason"]["code"] == "DETALHE_PAGAMENTO_INVALIDO"
    assert v4.get_payment(paid)["status"] == "ACSC"
    announced = OutboxEvent.objects.filter(kind=EventKind.PIX_PAYMENT, resource_id__in=[refused, paid])
    assert sorted(announced.values_list("to_status", flat=True)) == ["ACSC", "RJCT"]
