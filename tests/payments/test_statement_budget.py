"""Issue 20's statement budgets (docs/scaling.md): a regression that adds round trips to the hot paths fails here.

Real commits (transactional tests): the payment path runs as in production, the bank's answer applied outside any
transaction. Budgets: POST /pix/payments (immediate, sandbox bank, ACSC) at most 12 statements of ours and 6 of the
sandbox bank's; POST /consents at most 6; the GETs 2 (the token, the record)."""

from decimal import Decimal

import pytest

from connectors.models import SandboxAccount
from consents.models import PaymentConsent
from opusof.outbox.models import OutboxEvent
from payments.models import PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.statements import StatementCount, mark_bank_methods

pytestmark = pytest.mark.django_db(transaction=True)

OURS_PER_PAYMENT = 12
BANK_PER_PAYMENT = 6
PER_CONSENT = 6
PER_GET = 2


@pytest.fixture(autouse=True)
def _bank_marked(monkeypatch):
    mark_bank_methods(monkeypatch)


def test_post_pix_payment_keeps_its_statement_budget_and_the_whole_regulated_path(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    token = v4.consent_token(consent_id)
    before = SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance

    with StatementCount() as count:
        response, body = v4.post_payments(consent_id, [payment_item(data)], token=token)

    assert response.status_code == 201, body
    assert len(count.ours) <= OURS_PER_PAYMENT, count.listing()
    assert len(count.bank) <= BANK_PER_PAYMENT, count.listing()
    [payment] = body["data"]
    assert payment["status"] == "ACSC"
    stored = PixPayment.objects.get(payment_id=payment["paymentId"])
    assert stored.bank_requested_at is not None
    assert [(h.from_status, h.to_status) for h in stored.history.all()] == [("", "RCVD"), ("RCVD", "ACSC")]
    assert PaymentConsent.objects.get(consent_id=consent_id).status == "CONSUMED"
    announced = set(OutboxEvent.objects.values_list("resource_id", "to_status"))
    assert {(consent_id, "CONSUMED"), (payment["paymentId"], "ACSC")} <= announced
    assert SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance == before - Decimal("100.00")


def test_a_retried_payment_request_replays_within_the_budget(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    token = v4.consent_token(consent_id)
    item = payment_item(data)
    first, first_body = v4.post_payments(consent_id, [item], token=token, idempotency_key="retry-1")

    with StatementCount() as count:
        again, again_body = v4.post_payments(consent_id, [item], token=token, idempotency_key="retry-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again_body["data"] == first_body["data"]
    assert len(count.ours) <= OURS_PER_PAYMENT and not count.bank, count.listing()
    assert PixPayment.objects.count() == 1


def test_post_consent_and_the_gets_keep_their_statement_budgets(v4):
    data = consent_data()
    with StatementCount() as count:
        response, body = v4.post_consent(data)
    assert response.status_code == 201, body
    assert len(count.ours) <= PER_CONSENT, count.listing()
    consent_id = body["data"]["consentId"]

    with StatementCount() as count:
        assert v4.get_consent(consent_id)["status"] == "AWAITING_AUTHORISATION"
    assert len(count.ours) <= PER_GET, count.listing()
