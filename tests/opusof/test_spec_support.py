"""The spec oracle itself: it must pass what the spec documents and fail everything else."""

import json
import uuid
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.http import HttpResponse

from opusof.jose import sign_payload
from tests.support.spec import assert_response_matches_spec, load_spec

INTERACTION = {"x-fapi-interaction-id": "d78fc4e5-37ca-4da3-adf2-9b082bf92280"}
ERROR: dict[str, Any] = {
    "errors": [{"code": "BAD_SIGNATURE", "title": "Assinatura inválida.", "detail": "x"}],
    "meta": {"requestDateTime": "2021-05-21T08:30:00Z"},
}
CONSENT: dict[str, Any] = {
    "data": {
        "consentId": "urn:opusof:C1DD33123",
        "creationDateTime": "2026-11-23T08:30:00Z",
        "expirationDateTime": "2026-11-23T08:35:00Z",
        "statusUpdateDateTime": "2026-11-23T08:30:00Z",
        "status": "AWAITING_AUTHORISATION",
        "loggedUser": {"document": {"identification": "11111111111", "rel": "CPF"}},
        "creditor": {"personType": "PESSOA_NATURAL", "cpfCnpj": "58764789000137", "name": "Marco Antonio"},
        "payment": {
            "type": "PIX",
            "date": "2026-11-23",
            "currency": "BRL",
            "amount": "100.12",
            "details": {
                "localInstrument": "MANU",
                "creditorAccount": {
                    "ispb": "12345678",
                    "issuer": "1774",
                    "number": "1234567890",
                    "accountType": "CACC",
                },
            },
        },
    },
    "links": {"self": "https://api.opusof.test/open-banking/payments/v4/consents/urn:opusof:C1DD33123"},
    "meta": {"requestDateTime": "2026-11-23T08:30:00Z"},
}


def _json(status: int, body: Any, *, content_type: str = "application/json; charset=utf-8", headers=INTERACTION):
    response = HttpResponse(json.dumps(body), status=status, content_type=content_type)
    for name, value in headers.items():
        response[name] = value
    return response


def _jwt(status: int, body: dict[str, Any], token: str | None = None) -> HttpResponse:
    response = HttpResponse(token or sign_payload(body, audience="org"), status=status, content_type="application/jwt")
    response["x-fapi-interaction-id"] = INTERACTION["x-fapi-interaction-id"]
    return response


def test_refs_are_resolved():
    schema = load_spec("payments-4.0.0.yml")["paths"]["/consents"]["post"]["responses"]["400"]
    assert "$ref" not in json.dumps(schema)


def test_documented_json_error_passes():
    body = assert_response_matches_spec(_json(400, ERROR), path="/consents", method="post")
    assert body == ERROR


def test_signed_success_passes_and_returns_the_claims():
    claims = assert_response_matches_spec(_jwt(201, CONSENT), path="/consents", method="POST")
    assert claims["data"]["consentId"] == "urn:opusof:C1DD33123"
    assert claims["iss"] == settings.OPUSOF_ORGANISATION_ID


def test_signed_422_with_a_documented_code_passes():
    body = {**ERROR, "errors": [{"code": "ERRO_IDEMPOTENCIA", "title": "Erro idempotência.", "detail": "x"}]}
    assert_response_matches_spec(_jwt(422, body), path="/consents", method="post")


BAD = {
    "undocumented status": lambda: _json(418, ERROR),
    "missing interaction id header": lambda: _json(400, ERROR, headers={}),
    "interaction id not a uuid": lambda: _json(400, ERROR, headers={"x-fapi-interaction-id": "abc"}),
    "json where jwt is documented": lambda: _json(201, CONSENT),
    "jwt where json is documented": lambda: _jwt(400, ERROR),
    "json without charset": lambda: _json(400, ERROR, content_type="application/json"),
    "error body without errors": lambda: _json(400, {"meta": ERROR["meta"]}),
    "error detail too long": lambda: _json(400, {"errors": [{**ERROR["errors"][0], "detail": "x" * 2049}]}),
    "422 code not in the enum": lambda: _jwt(422, {**ERROR, "errors": [{**ERROR["errors"][0], "code": "SALDO"}]}),
    "consent amount as a number": lambda: _jwt(
        201, {**CONSENT, "data": {**CONSENT["data"], "payment": {**CONSENT["data"]["payment"], "amount": 100.12}}}
    ),
    "consent date-time not a date-time": lambda: _jwt(
        201, {**CONSENT, "data": {**CONSENT["data"], "creationDateTime": "yesterday"}}
    ),
    "consent status not in the enum": lambda: _jwt(201, {**CONSENT, "data": {**CONSENT["data"], "status": "DONE"}}),
    "jwt not signed by the holder": lambda: _jwt(
        201,
        CONSENT,
        jwt.encode(
            {**CONSENT, "iss": settings.OPUSOF_ORGANISATION_ID, "aud": "o", "iat": 1, "jti": str(uuid.uuid4())},
            "a-shared-secret-is-not-our-key-at-all",
            algorithm="HS256",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_what_the_spec_does_not_document_fails(case):
    with pytest.raises(pytest.fail.Exception):
        assert_response_matches_spec(BAD[case](), path="/consents", method="post")


def test_unknown_operation_fails():
    with pytest.raises(pytest.fail.Exception):
        assert_response_matches_spec(_json(400, ERROR), path="/nowhere", method="get")
