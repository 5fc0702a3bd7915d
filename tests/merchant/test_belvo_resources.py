"""Belvo's customers, beneficiary bank accounts and institutions as resources, intents naming them by id, and an
intent created with ``confirm: false`` completed by PATCH — over real HTTP, on the same domain as Efí's."""

import datetime as dt
from typing import Any

import httpx
import pytest

from merchant.models import BeneficiaryAccount, Customer, Plan
from merchant.services.plans import plans_sync_open
from opusof.timeutil import business_date
from tests.merchant.conftest import EfiMerchant
from tests.merchant.test_belvo_flow import CALLBACK, INTENTS, belvo, intent_body
from tests.support.payment_bodies import ANA_CPF, MERCHANT_CNPJ

__all__ = ["belvo"]
pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = "/payments/br/customers/"
ACCOUNTS = "/payments/br/bank-accounts/"
INSTITUTIONS = "/payments/br/institutions/"
ACCOUNT = {
    "holder": {"name": "Loja Exemplo Comercio Ltda", "identifier": MERCHANT_CNPJ},
    "institution": "12345678",
    "agency": "0001",
    "number": "90000001",
    "account_type": "CACC",
}


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    [error] = response.json()
    assert set(error) == {"code", "message", "request_id", "field"} and error["code"] == code, response.text
    return error


def test_resources_named_by_id_and_an_intent_completed_by_patch(efi: EfiMerchant, belvo: httpx.Client):
    from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID

    # Given the shop registers its customer and its account, and finds the payer's institution
    customer = belvo.post(CUSTOMERS, json={"identifier": ANA_CPF, "name": "Ana", "email": "ana@example.com"})
    assert customer.status_code == 201, customer.text
    assert customer.json()["customer_type"] == "INDIVIDUAL" and customer.json()["email"] == "ana@example.com"
    again = belvo.post(CUSTOMERS, json={"identifier": ANA_CPF, "name": "Ana"})
    assert (again.status_code, again.json()["id"]) == (200, customer.json()["id"])
    assert belvo.get(CUSTOMERS).json()["count"] == 1
    assert belvo.get(f"{CUSTOMERS}{customer.json()['id']}/").json() == customer.json()
    account = belvo.post(ACCOUNTS, json=ACCOUNT)
    assert account.status_code == 201, account.text
    assert belvo.get(ACCOUNTS).json()["results"] == [account.json()]
    assert belvo.get(f"{ACCOUNTS}{account.json()['id']}/").json()["holder"] == ACCOUNT["holder"]
    institutions = belvo.get(INSTITUTIONS).json()["results"]
    assert OWN_AUTHORISATION_SERVER_ID in [i["id"] for i in institutions]
    assert belvo.get(f"{INSTITUTIONS}{OWN_AUTHORISATION_SERVER_ID}/").json()["id"] == OWN_AUTHORISATION_SERVER_ID

    # When an intent names them by id, not yet confirmed: recorded, nothing sent to the bank
    start = business_date() + dt.timedelta(days=2)
    body = intent_body({"daily": {"start_date": start.isoformat(), "occurrences": 2}})
    body["customer"] = customer.json()["id"]
    body["confirm"] = False
    details = body["payment_method_details"]["open_finance"]
    details["beneficiary_bank_account"] = account.json()["id"]
    details["payer_institution"] = "instituicao-a-escolher"
    created = belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "resources-1"})
    _error(created, 400, "invalid")
    details["payer_institution"] = OWN_AUTHORISATION_SERVER_ID
    created = belvo.post(INTENTS, json=body, headers={"Belvo-Idempotency-Key": "resources-1"})
    assert created.status_code == 201, created.text
    intent = created.json()
    assert intent["status"] == "REQUIRES_PAYMENT_METHOD"
    assert intent["payment_method_information"]["open_finance"]["redirect_url"] is None
    assert intent["customer"] == customer.json()["id"]
    assert intent["payment_method_details"]["open_finance"]["beneficiary_bank_account"] == account.json()["id"]
    assert Plan.objects.get().consent_id == ""

    # Then PATCH confirms it: the consent is created at the payer's bank and the payer is sent there
    path = f"{INTENTS}{intent['id']}/"
    _error(belvo.patch(path, json={"confirm": "sim"}), 400, "invalid")
    _error(belvo.patch(path, json={}), 400, "invalid")
    wrong = {"payment_method_details": {"open_finance": {"beneficiary_bank_account": "00000000-0000-0000-0000-0000"}}}
    _error(belvo.patch(path, json=wrong), 400, "invalid")
    completed = belvo.patch(
        path,
        json={
            "payment_method_details": {"open_finance": {"payer_institution": OWN_AUTHORISATION_SERVER_ID}},
            "confirm": True,
        },
    )
    assert completed.status_code == 200, completed.text
    assert completed.json()["status"] == "REQUIRES_ACTION"
    redirect = completed.json()["payment_method_information"]["open_finance"]["redirect_url"]
    _error(belvo.patch(path, json={"confirm": True}), 422, "payment_intent_not_modifiable")
    assert efi.authorise(redirect) == f"{CALLBACK}?result=success"
    plans_sync_open()
    assert belvo.get(path).json()["status"] == "SCHEDULED"


def test_resource_refusals_leave_nothing_behind(efi: EfiMerchant, belvo: httpx.Client):
    _error(belvo.post(CUSTOMERS, json={"identifier": "123", "name": "Ana"}), 400, "invalid")
    assert _error(belvo.post(CUSTOMERS, json={"identifier": ANA_CPF, "name": "Ana", "email": "x"}), 400, "invalid")[
        "field"
    ] == ("body.email")
    _error(belvo.post(CUSTOMERS, json=["x"]), 400, "invalid")
    _error(belvo.post(ACCOUNTS, json={**ACCOUNT, "account_type": "CHECKINGS"}), 400, "invalid")
    _error(belvo.get(f"{CUSTOMERS}nao-existe/"), 404, "not_found")
    _error(belvo.get(f"{ACCOUNTS}00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    _error(belvo.get(f"{INSTITUTIONS}desconhecida/"), 404, "not_found")
    _error(httpx.get(f"{efi.http.base_url}{CUSTOMERS}", auth=("x", "y")), 401, "authentication_failed")
    key = {"Belvo-Idempotency-Key": "k"}
    body = intent_body({"single": {"date": business_date().isoformat()}})
    _error(belvo.post(INTENTS, json=body, headers=key), 422, "invalid_schedule")  # inline customer: not registered
    body = intent_body({"single": {"date": (business_date() + dt.timedelta(days=3)).isoformat()}})
    body["customer"] = "00000000-0000-0000-0000-000000000000"
    assert _error(belvo.post(INTENTS, json=body, headers=key), 400, "invalid")["field"] == "customer"
    assert not Customer.objects.exists() and not BeneficiaryAccount.objects.exists() and not Plan.objects.exists()
