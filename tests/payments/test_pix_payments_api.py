"""POST/GET /pix/payments: every response validated against payments-4.0.0.yml."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.models import SandboxAccount, SandboxCustomer, SandboxQrCode
from connectors.registry import payment_initiator
from connectors.sandbox.demo import DEMO_EVP, DYNAMIC_TXID
from consents.models import PaymentConsent
from opusof.brcode import build_static
from opusof.outbox.models import OutboxEvent
from opusof.timeutil import business_date
from payments.models import PixPayment
from payments.services import PIX_PAYMENTS, payment_id_for, payment_poll_status
from tests.support.payment_bodies import ANA_ACCOUNT, BRUNO_ACCOUNT, consent_data, end_to_end_id, own, payment_item
from tests.support.payments_v4 import error_codes


def ana_balance() -> Decimal:
    return SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance


def consent_status(consent_id: str) -> str:
    return PaymentConsent.objects.get(consent_id=consent_id).status


def pay(v4, data=None, **item_overrides):
    data = data or consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data, **item_overrides)])
    return consent_id, response, body


def test_immediate_payment_settles_and_consumes_consent(v4):
    before = ana_balance()
    consent_id, response, body = pay(v4)
    assert response.status_code == 201, body
    [payment] = body["data"]
    assert payment["status"] == "ACSC"
    assert payment["consentId"] == consent_id
    assert payment["debtorAccount"]["number"] == ANA_ACCOUNT["number"]
    assert ana_balance() == before - Decimal("100.00")
    assert consent_status(consent_id) == "CONSUMED"
    fetched = v4.get_payment(payment["paymentId"])
    assert fetched["status"] == "ACSC"
    assert fetched["endToEndId"] == payment["endToEndId"]
    assert fetched["remittanceInformation"] == "Pagamento de teste"
    history = [
        (h.from_status, h.to_status) for h in PixPayment.objects.get(payment_id=payment["paymentId"]).history.all()
    ]
    assert history == [("", "RCVD"), ("RCVD", "ACSC")]


def test_client_credentials_token_cannot_create_payments(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)], token=v4.token)
    assert response.status_code == 403
    assert consent_status(consent_id) == "AUTHORISED"
    assert not PixPayment.objects.exists()


def test_token_of_another_consent_is_divergent(v4):
    data = consent_data()
    consent_a = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    consent_b = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data, consentId=consent_b)
    response, body = v4.post_payments(consent_a, [item])
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]
    assert (consent_status(consent_a), consent_status(consent_b)) == ("AUTHORISED", "AUTHORISED")
    assert not PixPayment.objects.exists()


def test_token_of_another_client(v4, other_tpp):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    from opusof.tokens import access_token_mint

    token = access_token_mint(
        client=other_tpp.client,
        grant_type="authorization_code",
        scopes=["openid", "payments", f"consent:{consent_id}"],
        consent_id=consent_id,
    )
    response = other_tpp.post("/open-banking/payments/v4/pix/payments", {"data": [payment_item(data)]}, token=token)
    body = v4.checked(response, "payments", "post")
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]
    assert consent_status(consent_id) == "AUTHORISED"


@pytest.mark.parametrize(
    "overrides",
    [
        {"payment": {"amount": "100.01", "currency": "BRL"}},
        {"localInstrument": "DICT", "proxy": "loja@example.com"},
        {"creditorAccount": {"ispb": "12345678", "issuer": "0001", "number": "90000002", "accountType": "CACC"}},
    ],
)
def test_payment_diverging_from_consent(v4, overrides):
    consent_id, response, body = pay(v4, **overrides)
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]
    assert consent_status(consent_id) == "AUTHORISED"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"endToEndId": "E12345678202302311200abcdefghijk"}, "PARAMETRO_INVALIDO"),
        ({"endToEndId": "X12345678202301011200abcdefghijk"}, "PARAMETRO_INVALIDO"),
        ({"cnpjInitiator": "123"}, "PARAMETRO_INVALIDO"),
        ({"transactionIdentification": "ABC123"}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"endToEndId": None}, "PARAMETRO_NAO_INFORMADO"),
    ],
)
def test_payment_format_errors(v4, overrides, code):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data, **overrides)
    item = {key: value for key, value in item.items() if value is not None}
    response, body = v4.post_payments(consent_id, [item])
    assert response.status_code == 422
    assert error_codes(body) == [code]
    assert consent_status(consent_id) == "AUTHORISED"


def test_impossible_settlement_date_detail(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data, endToEndId="E12345678202302301200abcdefghijk")])
    assert (response.status_code, body["errors"][0]["detail"]) == (422, "Data de liquidação inválida")


def test_end_to_end_of_another_day(v4):
    # SPI tolerates 12 h around the endToEndId's instant; two days off is another settlement date.
    two_days_ago = business_date() - dt.timedelta(days=2)
    consent_id, response, body = pay(v4, endToEndId=end_to_end_id(two_days_ago))
    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]


def test_consumed_consent_is_invalid(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    first, _ = v4.post_payments(consent_id, [payment_item(data)])
    assert first.status_code == 201
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]
    assert PixPayment.objects.count() == 1


def test_awaiting_and_rejected_consents_are_invalid(v4):
    data = consent_data()
    awaiting = v4.create_consent(data)
    response, body = v4.post_payments(awaiting, [payment_item(data)])
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]
    PaymentConsent.objects.filter(consent_id=awaiting).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response, body = v4.post_payments(awaiting, [payment_item(data)])
    assert error_codes(body) == ["CONSENTIMENTO_INVALIDO"]
    assert consent_status(awaiting) == "REJECTED"


def test_partially_accepted_consent_is_pending_and_not_consumed(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT), approvals=2)
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_PENDENTE_AUTORIZACAO"]
    assert consent_status(consent_id) == "PARTIALLY_ACCEPTED"


def test_insufficient_funds_is_422_consumes_consent_and_shows_no_payment(v4):
    data = consent_data(amount="40.00", logged_cpf="98765432100")
    consent_id = v4.authorised_consent(data, debtor=own(BRUNO_ACCOUNT))
    SandboxAccount.objects.filter(number=BRUNO_ACCOUNT["number"]).update(balance=Decimal("10.00"))
    item = payment_item(data)
    response, body = v4.post_payments(consent_id, [item])
    assert response.status_code == 422
    assert error_codes(body) == ["SALDO_INSUFICIENTE"]
    assert consent_status(consent_id) == "CONSUMED"
    # §2.2.2: no payment for the TPP; the record made before the bank was asked is kept, refused and hidden.
    payment_id = payment_id_for(consent_id, item["endToEndId"])
    hidden = v4.tpp.get(f"/open-banking/payments/v4/pix/payments/{payment_id}", token=v4.token)
    assert hidden.status_code == 404
    v4.checked(hidden, "payment", "get")
    [kept] = PixPayment.objects.all()
    assert (kept.payment_id, kept.status, kept.rejection_reason) == (payment_id, "RJCT", "SALDO_INSUFICIENTE")
    assert kept.refused_at_creation and not PixPayment.objects.visible().exists()
    assert not OutboxEvent.objects.filter(resource_id=payment_id).exists()


def test_over_limit_is_422(v4):
    data = consent_data(amount="900.00", logged_cpf="98765432100")
    SandboxAccount.objects.filter(number=BRUNO_ACCOUNT["number"]).update(balance=Decimal("5000.00"))
    consent_id = v4.authorised_consent(data, debtor=own(BRUNO_ACCOUNT))
    # The bank lowers the customer's limit between authorisation and payment.
    SandboxCustomer.objects.filter(document="98765432100").update(transaction_limit=Decimal("500.00"))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert error_codes(body) == ["VALOR_ACIMA_LIMITE"]
    assert consent_status(consent_id) == "CONSUMED"


def test_dict_failure_is_422_and_consumes_consent(v4):
    data = consent_data(instrument="DICT", proxy="fakeperson@example.com")
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    # The consent could be authorised (no DICT at consent time, §1.1.2); the DICT check happens now (§2.3).
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]
    assert consent_status(consent_id) == "CONSUMED"
    assert not PixPayment.objects.exists()


def test_dict_key_of_another_account_is_refused(v4):
    data = consent_data(instrument="DICT", proxy="ana.souza@example.com")
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


@pytest.mark.parametrize(
    ("instrument", "extra"),
    [
        ("DICT", {"proxy": "loja@example.com"}),
        ("INIC", {"proxy": "+5521912345678"}),
    ],
)
def test_pix_key_instruments(v4, instrument, extra):
    data = consent_data(instrument=instrument, **extra)
    overrides = {"transactionIdentification": "INIC0001"} if instrument == "INIC" else {}
    _, response, body = pay(v4, data, **overrides)
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"
    assert body["data"][0]["proxy"] == extra["proxy"]


def test_inic_requires_transaction_identification(v4):
    data = consent_data(instrument="INIC", proxy="+5521912345678")
    _, response, body = pay(v4, data)
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_static_qr_payment(v4):
    qr = build_static(DEMO_EVP, Decimal("100.00"), "LOJA EXEMPLO", "SAO PAULO", txid="DEMOSTATIC0001")
    data = consent_data(instrument="QRES", proxy=DEMO_EVP, qr_code=qr)
    _, response, body = pay(v4, data, transactionIdentification="DEMOSTATIC0001")
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"
    assert body["data"][0]["transactionIdentification"] == "DEMOSTATIC0001"


def test_static_qr_requires_its_txid(v4):
    qr = build_static(DEMO_EVP, Decimal("100.00"), "LOJA EXEMPLO", "SAO PAULO", txid="DEMOSTATIC0001")
    data = consent_data(instrument="QRES", proxy=DEMO_EVP, qr_code=qr)
    _, response, body = pay(v4, data, transactionIdentification="OTHER")
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def qrdn_consent(demo_bank):
    dynamic = demo_bank["qr_codes"]["dynamic"]
    return consent_data(instrument="QRDN", proxy=dynamic["key"], qr_code=dynamic["payload"], amount=dynamic["amount"])


def test_dynamic_qr_payment_is_single_use(v4, demo_bank):
    data = qrdn_consent(demo_bank)
    _, response, body = pay(v4, data, transactionIdentification=DYNAMIC_TXID)
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"
    assert SandboxQrCode.objects.get(txid=DYNAMIC_TXID).status == SandboxQrCode.Status.USED
    # A used charge is caught when the customer authorises the next consent (§5.1.8).
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    assert v4.get_consent(consent_id)["rejectionReason"]["code"] == "QRCODE_INVALIDO"


def test_dynamic_qr_expired_after_authorisation(v4, demo_bank):
    data = qrdn_consent(demo_bank)
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    SandboxQrCode.objects.filter(txid=DYNAMIC_TXID).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response, body = v4.post_payments(consent_id, [payment_item(data, transactionIdentification=DYNAMIC_TXID)])
    assert response.status_code == 422
    assert error_codes(body) == ["COBRANCA_INVALIDA"]
    assert consent_status(consent_id) == "CONSUMED"


def test_dynamic_qr_needs_a_long_txid(v4, demo_bank):
    _, response, body = pay(v4, qrdn_consent(demo_bank), transactionIdentification="SHORT")
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_bank_offline_gives_infrastructure_failure_not_500(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(behaviour=SandboxAccount.Behaviour.OFFLINE)
    before = ana_balance()
    response, body = v4.post_payments(consent_id, [payment_item(data)])
    assert response.status_code == 201
    [payment] = body["data"]
    assert payment["status"] == "RJCT"
    assert payment["rejectionReason"]["code"] == "FALHA_INFRAESTRUTURA_DETENTORA"
    assert ana_balance() == before
    assert consent_status(consent_id) == "CONSUMED"


def test_pending_then_settles_when_polled(v4):
    SandboxAccount.objects.filter(number=ANA_ACCOUNT["number"]).update(
        behaviour=SandboxAccount.Behaviour.PENDING_THEN_SETTLE, settle_delay_seconds=0
    )
    _, response, body = pay(v4)
    [payment] = body["data"]
    assert payment["status"] == "PDNG"
    payment_poll_status(payment_id=payment["paymentId"])
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"


@pytest.mark.parametrize(
    ("amount", "status"),
    [("1334.00", "ACPD"), ("1335.00", "ACCP"), ("1336.00", "ACSC"), ("12345.67", "PDNG")],
)
def test_sandbox_scenario_amounts(v4, amount, status):
    _, response, body = pay(v4, consent_data(amount=amount))
    assert response.status_code == 201
    assert body["data"][0]["status"] == status


def test_scenario_holder_rejects(v4):
    _, response, body = pay(v4, consent_data(amount="20201.00"))
    assert response.status_code == 201
    assert body["data"][0]["rejectionReason"]["code"] == "PAGAMENTO_RECUSADO_DETENTORA"


def test_scenario_payment_422_consumes_consent(v4):
    consent_id, response, body = pay(v4, consent_data(amount="20422.10"))
    assert response.status_code == 422
    assert error_codes(body) == ["PAGAMENTO_RECUSADO_DETENTORA"]
    assert consent_status(consent_id) == "CONSUMED"


def test_payment_of_another_client_is_not_found(v4, other_tpp):
    _, _, body = pay(v4)
    from opusof.tokens import access_token_mint

    token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])
    response = other_tpp.get(f"/open-banking/payments/v4/pix/payments/{body['data'][0]['paymentId']}", token=token)
    assert response.status_code == 404
    v4.checked(response, "payment", "get")


def test_payment_idempotent_replay(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    first, first_body = v4.post_payments(consent_id, [item], idempotency_key="pay-1")
    again, again_body = v4.post_payments(consent_id, [item], idempotency_key="pay-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again_body["data"] == first_body["data"]
    assert again_body["jti"] != first_body["jti"]
    other, other_body = v4.post_payments(consent_id, [payment_item(data)], idempotency_key="pay-1")
    assert error_codes(other_body) == ["ERRO_IDEMPOTENCIA"]
    assert PixPayment.objects.count() == 1


def test_retried_initiation_never_pays_twice(v4):
    """A request retried after a crash re-derives the same payment id, the bank's idempotency key."""
    before = ana_balance()
    consent_id, _, body = pay(v4)
    payment = PixPayment.objects.select_related("consent").get(payment_id=body["data"][0]["paymentId"])
    assert payment.payment_id == payment_id_for(consent_id, payment.end_to_end_id)
    again = payment_initiator().initiate_payment(PIX_PAYMENTS.initiation(payment))
    assert again.status == "ACSC"
    assert ana_balance() == before - Decimal("100.00")
