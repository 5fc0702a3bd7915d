"""50 identical requests at once (threads, real PostgreSQL): exactly one effect, every answer the same."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from rest_framework.test import APIClient

from connectors.models import SandboxAccount
from consents.models import PaymentConsent
from payments.models import PixPayment
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.spec import decode_holder_jws

PARALLEL = 50


def _fire(tpp, path, body, *, token, key):
    """Each thread signs its own request (fresh jti, as a retrying TPP would) with the same idempotency key."""

    def call(_):
        tpp.api = APIClient()
        try:
            response = tpp.post(path, body, token=token, idempotency_key=key)
            return response.status_code, decode_holder_jws(response.content)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return list(pool.map(call, range(PARALLEL)))


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_consents_create_one(v4):
    results = _fire(v4.tpp, "/open-banking/payments/v4/consents", {"data": consent_data()}, token=v4.token, key="same")
    assert {status for status, _ in results} == {201}
    assert len({str(body["data"]) for _, body in results}) == 1
    assert len({body["jti"] for _, body in results}) == PARALLEL
    assert PaymentConsent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_payments_create_one(v4):
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    before = SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance
    results = _fire(
        v4.tpp,
        "/open-banking/payments/v4/pix/payments",
        {"data": [payment_item(data)]},
        token=v4.consent_token(consent_id),
        key="same-payment",
    )
    assert {status for status, _ in results} == {201}
    assert len({str(body["data"]) for _, body in results}) == 1
    assert PixPayment.objects.count() == 1
    assert SandboxAccount.objects.get(number=ANA_ACCOUNT["number"]).balance == before - Decimal("100.00")
