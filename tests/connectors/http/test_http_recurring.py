"""Automatic payments v2 end to end through the HTTP connector and the reference bank: the recurring variant of each
route (paymentType PAYMENT_RECURRING_CONSENT) is what the bank receives, checked against the Opus contract's schemas;
every regulated response is validated against automatic-payments-2.0.0.yml (the ``ap2`` driver)."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from connectors.http import calllog
from connectors.interfaces import AccountRef, AccountType, ConsentInfo, PaymentData, RecurringTerms
from connectors.models import ConnectorCall, SandboxAccount
from connectors.registry import payment_data_validator
from connectors.sandbox import SandboxBank
from opusof.tokens import access_token_mint
from recurring.models import RecurringPayment
from recurring.services.charges import recurring_payment_poll_status
from tests.connectors.http.test_http_contract import AUTOMATIC, MERCHANT, assert_valid
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.payment_bodies import ANA_CPF, BRUNO_ACCOUNT, BRUNO_CPF, end_to_end_id
from tests.support.recurring_bodies import ANA_ACCOUNT, automatic_consent, automatic_payment, own
from tests.support.tpp import TppActor

pytestmark = pytest.mark.django_db(transaction=True)
RECURRING = "PAYMENT_RECURRING_CONSENT"


@pytest.fixture
def ap2(tpp: TppActor, demo_bank: dict[str, Any]) -> AutomaticPaymentsV2:
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"])
    return AutomaticPaymentsV2(tpp=tpp, token=token)


def calls() -> list[tuple[str, str, int | None]]:
    assert calllog.flush()
    return [(c.route, c.outcome, c.http_status) for c in ConnectorCall.objects.order_by("created_at", "pk")]


def test_automatic_payment_consent_charge_status_and_cancel_go_out_as_the_recurring_variant(ap2, http_connectors):
    bank = http_connectors
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))

    # Authorisation: the bank is asked for the customer's accounts for this recurring consent.
    [discovery] = bank.received("discovery")
    assert discovery["paymentType"] == RECURRING
    assert_valid(discovery["body"], "DiscoveryAccountsPayment")
    consent = discovery["body"]["consent"]
    assert consent["externalId"] == consent_id
    assert consent["tpp"] == {"name": ap2.tpp.client.name}
    assert consent["recurringConfiguration"]["automatic"]["contractId"] == "CONTRATO123"
    assert consent["creditors"][0]["cpfCnpj"] == "12345678000195"

    payment = ap2.pay(consent_id, automatic_payment("120.00"))
    assert payment["status"] == "SCHD"
    [initiate] = bank.received("initiate")
    assert initiate["paymentType"] == RECURRING
    assert_valid(initiate["body"], "CreatePixPayment")  # nothing relaxed: every required field is there
    assert_valid(initiate["body"]["consent"], "ConsentRecurringPayment")
    data = initiate["body"]["requestBody"]["data"]
    assert data["recurringConsentId"] == consent_id
    assert (data["date"], data["paymentReference"]) == (payment["date"], payment["paymentReference"])
    assert data["cnpjInitiator"] == payment["cnpjInitiator"]
    assert "originalRecurringPaymentId" not in data  # an original attempt
    assert initiate["body"]["idempotencyKey"] == payment["recurringPaymentId"]

    polled = recurring_payment_poll_status(recurring_payment_id=payment["recurringPaymentId"])
    assert polled.status == "SCHD"
    [status] = bank.received("status")
    assert status["paymentType"] == RECURRING
    assert_valid(status["body"], "FindPixPayment")
    assert status["body"]["consent"]["loggedUser"]["document"]["identification"] == ANA_CPF

    response, body = ap2.cancel_payment(payment["recurringPaymentId"], document=ANA_CPF)

    assert response.status_code == 200, body
    assert body["data"]["status"] == "CANC"
    [cancel] = bank.received("cancel")
    assert cancel["paymentType"] == RECURRING
    assert_valid(cancel["body"], "CancellationPixPayment")
    assert cancel["body"]["requestBody"]["data"] == {
        "status": "REJECTED",  # EnumRecurringPaymentCancellationStatusType
        "cancellation": {"cancelledBy": {"document": {"identification": ANA_CPF, "rel": "CPF"}}},
    }
    bank_side = SandboxBank().get_payment_status(
        payment_id=payment["recurringPaymentId"], end_to_end_id=payment["endToEndId"]
    )
    assert bank_side.status == "CANC"
    assert calls() == [
        ("discovery", "OK", 200),
        ("initiate", "OK", 201),
        ("status", "OK", 200),
        ("cancel", "OK", 200),
    ]


def test_extra_day_retry_names_the_original_payment(ap2, http_connectors):
    consent_id = ap2.authorised_consent(automatic_consent(cpf=BRUNO_CPF), debtor=own(BRUNO_ACCOUNT))
    charge = automatic_payment("100.00")
    original = ap2.pay(consent_id, charge)
    SandboxBank().force_settle(original["recurringPaymentId"])  # Bruno has R$ 50.00: SALDO_INSUFICIENTE
    assert recurring_payment_poll_status(recurring_payment_id=original["recurringPaymentId"]).status == "RJCT"
    day = dt.date.fromisoformat(charge["date"]) + dt.timedelta(days=1)
    retry = ap2.pay(
        consent_id,
        {
            **charge,
            "endToEndId": end_to_end_id(day),
            "date": day.isoformat(),
            "originalRecurringPaymentId": original["recurringPaymentId"],
        },
    )

    assert retry["originalRecurringPaymentId"] == original["recurringPaymentId"]
    sent = http_connectors.received("initiate")[-1]["body"]
    assert_valid(sent, "CreatePixPayment")
    # "Como Identificar a Tentativa de Pagamento": filled means an extra-day retry of that payment.
    assert sent["requestBody"]["data"]["originalRecurringPaymentId"] == [
        {"key": "recurringPaymentId", "value": original["recurringPaymentId"]}
    ]
    assert RecurringPayment.objects.get(recurring_payment_id=retry["recurringPaymentId"]).status == "SCHD"


def test_recurring_validation_is_served_by_the_reference_bank(http_connectors, demo_bank):
    terms = RecurringTerms(creditors=(MERCHANT,), configuration=replace(AUTOMATIC, first_payment=None))
    consent = ConsentInfo(consent_id="urn:opusof:rc-9", tpp_name="Iniciadora", recurring=terms)
    merchant = AccountRef(ispb="99999004", issuer="0001", number="90000001", account_type=AccountType.CACC)
    data = PaymentData(
        amount=Decimal("0.00"),  # a recurring consent has no amount of its own; not sent
        local_instrument="MANU",
        creditor_account=merchant,
        creditor_document=MERCHANT.document,
        creditor_name=MERCHANT.name,
        customer_document=ANA_CPF,
        debtor_account=SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).ref,
        consent=consent,
    )

    assert payment_data_validator().validate_payment_data(data).ok
    salary = SandboxAccount.objects.filter(owner__document=ANA_CPF, may_pay=False).first()
    assert salary is not None
    refused = payment_data_validator().validate_payment_data(
        PaymentData(**{**data.__dict__, "debtor_account": salary.ref})
    )
    assert [issue.code for issue in refused.issues] == ["CONTA_NAO_PERMITE_PAGAMENTO"]
    assert [entry["paymentType"] for entry in http_connectors.received("validate")] == [RECURRING, RECURRING]


def test_the_review_page_asks_discovery_for_the_recurring_consent(ap2, http_connectors):
    from opusof.authserver.journeys import JOURNEYS, RECURRING_CONSENT
    from opusof.authserver.pages.review import payable_accounts
    from recurring.models import RecurringConsent

    consent = RecurringConsent.objects.get(recurring_consent_id=ap2.create_consent(automatic_consent()))

    accounts = payable_accounts(ANA_CPF, JOURNEYS[RECURRING_CONSENT], consent)

    assert ANA_ACCOUNT["number"] in {account.account.number for account in accounts}
    [discovery] = http_connectors.received("discovery")
    assert discovery["paymentType"] == RECURRING
    assert discovery["body"]["consent"]["externalId"] == consent.recurring_consent_id


def test_a_charge_whose_answer_is_lost_is_held_then_polled_never_rejected(ap2, http_connectors, faults, settings):
    import time

    from connectors.registry import reset_connectors
    from tests.support.recurring_bodies import sweeping_consent, sweeping_payment

    settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS = {**settings.OPUSOF_CONNECTOR_HTTP_READ_TIMEOUTS, "initiate": 0.5}
    reset_connectors()
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    before = SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance
    faults(latencySeconds=1.5, routes=["initiate"])

    payment = ap2.pay(consent_id, sweeping_payment("10.00"))

    # A read timeout: the bank may still pay, so the charge is held (PDNG), not rejected.
    assert payment["status"] == "PDNG"
    time.sleep(1.2)  # the slow bank finishes the charge it received
    faults(method="DELETE")
    assert recurring_payment_poll_status(recurring_payment_id=payment["recurringPaymentId"]).status == "ACSC"
    assert SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance == before - Decimal("10.00")
