"""20 parallel charges against a consent whose daily limit admits 3 (threads, real PostgreSQL): exactly 3 accepted,
the other 17 rejected with the period-limit code; the consent's row lock serialises the limit check and insert."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from recurring.models import RecurringPayment
from tests.support.automatic_payments_v2 import API, checked
from tests.support.recurring_bodies import ANA_ACCOUNT, own, sweeping_consent, sweeping_payment

PARALLEL = 20
ADMITTED = 3


@pytest.mark.django_db(transaction=True)
def test_parallel_charges_never_overshoot_the_period_limit(ap2):
    consent_id = ap2.authorised_consent(
        sweeping_consent(periodic={"day": {"quantityLimit": ADMITTED}}), debtor=own(ANA_ACCOUNT)
    )
    token = ap2.consent_token(consent_id)
    bodies = [{"data": sweeping_payment("1.00")} for _ in range(PARALLEL)]

    def charge(body):
        ap2.tpp.api = APIClient()
        try:
            response = ap2.tpp.post(f"{API}/pix/recurring-payments", body, token=token)
            return response.status_code, checked(response, "payments", "post")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(charge, bodies))

    accepted = [body for status, body in results if status == 201]
    rejected = [body for status, body in results if status == 422]
    assert len(accepted) == ADMITTED
    assert len(rejected) == PARALLEL - ADMITTED
    assert {error["code"] for body in rejected for error in body["errors"]} == {"LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"}
    assert RecurringPayment.objects.filter(consent__recurring_consent_id=consent_id).count() == ADMITTED


@pytest.mark.django_db(transaction=True)
def test_parallel_identical_charges_pay_once(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    token = ap2.consent_token(consent_id)
    body = {"data": sweeping_payment("7.00")}

    def charge(_):
        ap2.tpp.api = APIClient()
        try:
            response = ap2.tpp.post(f"{API}/pix/recurring-payments", body, token=token, idempotency_key="one-charge")
            return response.status_code, checked(response, "payments", "post")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(charge, range(10)))
    assert {status for status, _ in results} == {201}
    assert len({str(body["data"]) for _, body in results}) == 1
    assert RecurringPayment.objects.count() == 1
