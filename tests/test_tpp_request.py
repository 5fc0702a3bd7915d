"""manage.py tpp_request against a live server: the demo TPP creates, authorises and pays a consent."""

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

from opusof.timeutil import business_date


def call(*args: str) -> tuple[str, Any]:
    out = StringIO()
    call_command("tpp_request", *args, stdout=out)
    status_line, _, body = out.getvalue().partition("\n")
    return status_line, json.loads(body)


@pytest.mark.django_db(transaction=True)
def test_demo_tpp_pays_through_the_live_api(live_server, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    creditor_account = {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"}
    consent: dict[str, Any] = {
        "data": {
            "loggedUser": {"document": {"identification": "12345678909", "rel": "CPF"}},
            "creditor": {"personType": "PESSOA_JURIDICA", "cpfCnpj": "12345678000195", "name": "Loja Exemplo"},
            "payment": {
                "type": "PIX",
                "currency": "BRL",
                "amount": "12.34",
                "date": business_date().isoformat(),
                "details": {
                    "localInstrument": "DICT",
                    "proxy": "loja@example.com",
                    "creditorAccount": {
                        "ispb": "12345678",
                        "issuer": "0001",
                        "number": "90000001",
                        "accountType": "CACC",
                    },
                },
            },
        }
    }
    body_file = tmp_path / "consent.json"
    body_file.write_text(json.dumps(consent))
    with override_settings(OPUSOF_BASE_URL=live_server.url, VAR_DIR=tmp_path):
        status, created = call("POST", "/open-banking/payments/v4/consents", "--data", f"@{body_file}")
        assert status.startswith("201 application/jwt")
        consent_id = created["data"]["consentId"]
        call_command("consent_authorise", consent_id, stdout=StringIO())
        item = {
            "endToEndId": f"E12345678{business_date():%Y%m%d}1500abcdefghijk",
            "localInstrument": "DICT",
            "proxy": "loja@example.com",
            "payment": {"amount": "12.34", "currency": "BRL"},
            "creditorAccount": creditor_account,
            "cnpjInitiator": "11222333000181",
        }
        status, paid = call(
            "POST",
            "/open-banking/payments/v4/pix/payments",
            "--consent",
            consent_id,
            "--mint",
            "--data",
            json.dumps({"data": [item]}),
        )
        assert status.startswith("201"), paid
        assert paid["data"][0]["status"] == "ACSC"
        status, fetched = call("GET", f"/open-banking/payments/v4/consents/{consent_id}")
        assert fetched["data"]["status"] == "CONSUMED"
