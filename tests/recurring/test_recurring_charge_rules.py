"""Automatic payments v2 rules the 2.0.0 yml states or the 2.2.0 certification suite expects (opusof.spec_versions):
empty periodic limits, the minimum that is no floor, and charges dated before the contract starts."""

import datetime as dt

import pytest

from opusof.timeutil import business_date
from recurring.models import RecurringConsent
from tests.support.automatic_payments_v2 import error_codes
from tests.support.recurring_bodies import ANA_ACCOUNT, automatic_consent, automatic_payment, own, sweeping_consent

MERCHANT = {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"}
OTHER_CREDITOR = {**MERCHANT, "number": "90000009"}


@pytest.mark.parametrize("period", ["day", "week", "month", "year"])
def test_an_empty_periodic_limit_is_refused(ap2, period):
    response, body = ap2.post_consent(sweeping_consent(periodic={period: {}}))

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]
    assert not RecurringConsent.objects.exists()


def test_a_periodic_limit_with_one_of_its_fields_is_accepted(ap2):
    response, body = ap2.post_consent(sweeping_consent(periodic={"day": {"quantityLimit": 2}}))

    assert response.status_code == 201, body


def test_the_minimum_variable_amount_is_not_a_charge_floor(ap2):
    consent_id = ap2.authorised_consent(automatic_consent(minimum="50.00"), debtor=own(ANA_ACCOUNT))

    payment = ap2.pay(consent_id, automatic_payment("10.00"))

    assert payment["status"] == "SCHD"


def _first_payment(day: dt.date) -> dict:
    return {"type": "PIX", "date": day.isoformat(), "currency": "BRL", "amount": "30.00", "creditorAccount": MERCHANT}


def test_a_first_payment_to_another_creditor_diverges(ap2):
    first_day = business_date() + dt.timedelta(days=1)
    consent_id = ap2.authorised_consent(
        automatic_consent(first_payment=_first_payment(first_day)), debtor=own(ANA_ACCOUNT)
    )
    data = automatic_payment("30.00", day=first_day, paymentReference="zero", creditorAccount=OTHER_CREDITOR)

    response, body = ap2.post_payment(consent_id, data)

    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])


def test_a_charge_before_the_first_payment_diverges(ap2):
    first_day = business_date() + dt.timedelta(days=8)
    consent_id = ap2.authorised_consent(
        automatic_consent(first_payment=_first_payment(first_day), interval="SEMANAL"), debtor=own(ANA_ACCOUNT)
    )
    day = business_date() + dt.timedelta(days=3)
    iso = day.isocalendar()
    data = automatic_payment(day=day, paymentReference=f"W{iso.week}-{iso.year}")

    response, body = ap2.post_payment(consent_id, data)

    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])


def test_a_charge_before_the_reference_start_diverges(ap2):
    start = business_date() + dt.timedelta(days=40)
    consent_id = ap2.authorised_consent(automatic_consent(reference_start=start), debtor=own(ANA_ACCOUNT))

    response, body = ap2.post_payment(consent_id, automatic_payment(days_ahead=3))

    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])
