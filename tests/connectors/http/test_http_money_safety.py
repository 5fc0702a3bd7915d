"""Record before effect through the HTTP connector and the reference bank (docs/money-safety.md): an endToEndId
already used is refused before the bank is asked, and a payment is committed before the bank sees it. Counted at
the bank (its ledger and the requests it received) and in opusof."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from connectors.models import SandboxAccount, SandboxLedgerEntry, SandboxPayment
from connectors.sandbox import SandboxBank
from opusof.tokens import access_token_mint
from payments.models import PixPayment
from recurring.models import RecurringPayment
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import error_codes
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment
from tests.support.tpp import TppActor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ap2(tpp: TppActor, demo_bank: dict[str, Any]) -> AutomaticPaymentsV2:
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"])
    return AutomaticPaymentsV2(tpp=tpp, token=token)


def ana_debits() -> int:
    return SandboxLedgerEntry.objects.filter(account__number=ANA_ACCOUNT["number"], direction="DEBIT").count()


def ana_balance() -> Decimal:
    return SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance


def test_reused_end_to_end_id_on_a_second_consent_is_422_and_the_bank_pays_once(v4, http_connectors):
    bank = http_connectors
    before = ana_balance()
    data = consent_data()
    first_consent = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    item = payment_item(data)
    response, body = v4.post_payments(first_consent, [item])
    assert response.status_code == 201 and body["data"][0]["status"] == "ACSC", body

    second_consent = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = v4.post_payments(second_consent, [item])

    # payments-4.0.0.yml 422ResponseErrorCreatePayment: "PARAMETRO_INVALIDO: endToEndId".
    assert response.status_code == 422, body
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]
    assert len(bank.received("initiate")) == 1, "the bank was never asked about the reused endToEndId"
    assert SandboxPayment.objects.filter(end_to_end_id=item["endToEndId"]).count() == 1
    assert ana_debits() == 1 and ana_balance() == before - Decimal("100.00")
    assert PixPayment.objects.filter(end_to_end_id=item["endToEndId"]).count() == 1
    # A refused request (§2.2.1) leaves its consent as it was: still good for one payment, with a new endToEndId.
    assert v4.get_consent(second_consent)["status"] == "AUTHORISED"
    response, body = v4.post_payments(second_consent, [payment_item(data)])
    assert response.status_code == 201 and body["data"][0]["status"] == "ACSC", body
    assert v4.get_consent(second_consent)["status"] == "CONSUMED"
    assert ana_debits() == 2 and ana_balance() == before - Decimal("200.00")


def test_reused_end_to_end_id_on_another_recurring_consent_is_422_and_the_bank_pays_once(ap2, http_connectors):
    bank = http_connectors
    first_consent = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    charge = sweeping_payment("7.00")
    assert ap2.pay(first_consent, charge)["status"] == "ACSC"

    second_consent = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    response, body = ap2.post_payment(second_consent, charge)

    assert response.status_code == 422, body
    assert [error["code"] for error in body["errors"]] == ["PARAMETRO_INVALIDO"]
    assert len(bank.received("initiate")) == 1
    assert SandboxPayment.objects.filter(end_to_end_id=charge["endToEndId"]).count() == 1
    assert ana_debits() == 1
    assert RecurringPayment.objects.filter(end_to_end_id=charge["endToEndId"]).count() == 1
    assert ap2.get_consent(second_consent)["status"] == "AUTHORISED"


def test_the_payment_is_committed_before_the_bank_is_asked(v4, http_connectors, monkeypatch):
    """The reference bank, when it receives the initiation, finds the payment already committed in opusof (read
    from another database connection, as any other process would), and neither it nor its consent locked."""
    bank = http_connectors
    seen: list[tuple[str, ...]] = []
    real = SandboxBank.initiate_payment

    def spying(self: SandboxBank, initiation: Any) -> Any:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT status, request_key, bank_requested_at IS NOT NULL FROM payments_pixpayment "
                    "WHERE payment_id = %s",
                    [initiation.payment_id],
                )
                row = cursor.fetchone()
                # No lock on the payment or its consent is held while the bank works (NOWAIT fails if one is).
                cursor.execute("BEGIN")
                cursor.execute(
                    "SELECT 1 FROM payments_pixpayment p JOIN consents_paymentconsent c ON c.id = p.consent_id "
                    "WHERE p.payment_id = %s FOR UPDATE NOWAIT",
                    [initiation.payment_id],
                )
                cursor.execute("ROLLBACK")
        finally:
            other.close()
        seen.append(tuple(map(str, row)) if row else ("missing", "", ""))
        return real(self, initiation)

    monkeypatch.setattr(SandboxBank, "initiate_payment", spying)
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))

    response, body = v4.post_payments(consent_id, [payment_item(data)], idempotency_key="commit-first")

    assert response.status_code == 201, body
    assert seen == [("RCVD", "commit-first", "True")]
    assert len(bank.received("initiate")) == 1
