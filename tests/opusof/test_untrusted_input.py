"""Bad input never reaches a 500 or an HTML page (issue 14): NUL characters, deep nesting, non-ASCII digits, unmatched
paths and methods, oversized request lines and Accept weights, on the regulated APIs and the authorisation server."""

import base64
import importlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.test import override_settings

from opusof.api.edge import MAX_REQUEST_LINE_BYTES
from opusof.authserver.directory import stand_in_key
from tests.support.oauth_tpp import wsgi_http
from tests.support.payment_bodies import consent_data
from tests.support.payments_v4 import API, PaymentsV4, error_codes
from tests.support.spec import assert_response_matches_spec
from tests.support.tpp import TppActor

ROOT = Path(__file__).resolve().parents[2]
NESTED = 10_000


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def signed_raw(tpp: TppActor, path: str, payload_json: str) -> str:
    """A JWS over a payload written by hand (json.dumps itself cannot write 10 000 levels)."""
    jws: str = jwt.PyJWS().encode(
        payload_json.encode("utf-8"), tpp.key, algorithm="PS256", headers={"kid": tpp.kid, "typ": "JWT"}
    )
    return jws


def _claims_prefix(tpp: TppActor, path: str) -> str:
    claims = tpp.claims_for(path, {})
    return json.dumps(claims)[:-1]


def assert_regulated_json(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json; charset=utf-8", response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    assert body["errors"][0]["code"] and body["meta"]["requestDateTime"], body
    return body


# --- NUL --------------------------------------------------------------------------------------------------------------


def test_a_nul_in_a_body_field_is_a_422_not_a_database_error(v4: PaymentsV4) -> None:
    data = consent_data()
    data["creditor"]["name"] = "Loja\x00Exemplo"

    response, body = v4.post_consent(data)

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]


def test_a_nul_in_an_extra_property_name_is_a_422(v4: PaymentsV4) -> None:
    data = consent_data()
    data["payment"]["x\x00y"] = "extra"

    response, body = v4.post_consent(data)

    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]


@pytest.mark.parametrize(
    ("url", "spec", "spec_path"),
    [
        (f"{API}/consents/urn:bank:%00", "payments-4.0.0.yml", "/consents/{consentId}"),
        (f"{API}/pix/payments/abc%00", "payments-4.0.0.yml", "/pix/payments/{paymentId}"),
        (
            "/open-banking/automatic-payments/v2/pix/recurring-payments?recurringConsentId=urn:bank:%00",
            "automatic-payments-2.0.0.yml",
            "/pix/recurring-payments",
        ),
        (
            "/open-banking/enrollments/v2/enrollments/urn:bank:x%00",
            "enrollments-2.1.0.yml",
            "/enrollments/{enrollmentId}",
        ),
    ],
)
def test_a_nul_in_a_path_or_query_id_is_a_regulated_400(
    tpp: TppActor, client_credentials_token: str, url: str, spec: str, spec_path: str
) -> None:
    response = tpp.get(url, token=client_credentials_token)

    body = assert_response_matches_spec(response, spec=spec, path=spec_path, method="get")
    assert response.status_code == 400
    assert body["errors"][0]["code"] == "PARAMETRO_INVALIDO"


def test_a_nul_in_an_oauth_form_is_an_invalid_request(db: None) -> None:
    response = wsgi_http().post("/auth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_nul_in_a_request_object_claim_is_refused_before_it_is_stored(tpp: TppActor) -> None:
    from opusof.authserver import endpoints
    from opusof.authserver.errors import OAuthError
    from opusof.authserver.services import verify_request_object

    now = int(time.time())
    claims = {"iss": tpp.client.client_id, "aud": endpoints.issuer(), "exp": now + 300, "nbf": now, "state": "\x00"}
    token = jwt.encode(claims, tpp.key, algorithm="PS256", headers={"kid": tpp.kid})

    with pytest.raises(OAuthError) as raised:
        verify_request_object(token, client=tpp.client)
    assert raised.value.error == "invalid_request_object"


# --- nesting ----------------------------------------------------------------------------------------------------------


def test_a_deeply_nested_signed_body_is_a_422(v4: PaymentsV4, tpp: TppActor) -> None:
    path = f"{API}/consents"
    payload = _claims_prefix(tpp, path) + ', "data": ' + "[" * NESTED + "]" * NESTED + "}"

    response = tpp.post(path, raw_body=signed_raw(tpp, path, payload), token=v4.token)

    body = assert_response_matches_spec(response, path="/consents", method="post")
    assert response.status_code == 422
    assert body["errors"][0]["code"] == "PARAMETRO_INVALIDO"


def test_a_deeply_nested_jose_header_is_a_bad_signature(v4: PaymentsV4, tpp: TppActor) -> None:
    header = '{"alg":"PS256","x":' + "[" * NESTED + "]" * NESTED + "}"
    token = f"{_b64(header.encode())}.{_b64(b'{}')}.{_b64(b'sig')}"

    response = tpp.post(f"{API}/consents", raw_body=token, token=v4.token)

    body = assert_response_matches_spec(response, path="/consents", method="post")
    assert response.status_code == 400
    assert body["errors"][0]["code"] == "BAD_SIGNATURE"


def test_a_deeply_nested_registration_body_is_an_oauth_error_not_a_debug_page(
    db: None, tmp_path: Path, settings: Any
) -> None:
    settings.OPUSOF_DIRECTORY_JWKS_PATH = str(tmp_path / "directory" / "jwks.json")
    stand_in_key()
    settings.DEBUG = True
    body = '{"software_statement": ' + "[" * NESTED + "]" * NESTED + "}"

    response = wsgi_http().post("/auth/register", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"] == "invalid_client_metadata"


def test_a_deeply_nested_client_assertion_is_invalid_client(db: None) -> None:
    payload = '{"iss":' + "[" * NESTED + "]" * NESTED + "}"
    header = _b64(b'{"alg":"PS256"}')
    assertion = f"{header}.{_b64(payload.encode())}.{_b64(b'sig')}"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }

    response = wsgi_http().post("/auth/token", data=form)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# --- digits -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "\uff11\uff12.\uff13\uff14"),  # full-width digits
        ("amount", "\u0661\u0662.\u0663\u0664"),  # Arabic-Indic digits
        ("cpf", "".join(chr(0xFF10 + int(d)) for d in "12345678909")),
        ("date", "\uff12\uff10\uff13\uff10-01-01"),
    ],
)
def test_digits_are_ascii_digits(v4: PaymentsV4, field: str, value: str) -> None:
    data = consent_data()
    if field == "amount":
        data["payment"]["amount"] = value
    elif field == "cpf":
        data["loggedUser"]["document"]["identification"] = value
    else:
        data["payment"]["date"] = value

    response, body = v4.post_consent(data)

    assert response.status_code == 422, body
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]


def _project_patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    found = []
    for package in ("opusof", "consents", "payments", "recurring", "enrollments", "connectors"):
        for file in sorted((ROOT / package).rglob("*.py")):
            if {"migrations", "settings"} & set(file.parts) or file.name.startswith("test"):
                continue
            module_name = ".".join(file.relative_to(ROOT).with_suffix("").parts)
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                    found.append((module_name, name, value))
    return found


def test_every_project_pattern_with_a_digit_or_word_class_is_ascii(db: None) -> None:
    """The same mistake elsewhere: a module-level ``\\d``/``\\w`` compiled without re.ASCII matches other scripts."""
    offenders = [
        f"{module}.{name}"
        for module, name, pattern in _project_patterns()
        if re.search(r"\\[dwb]", pattern.pattern) and not pattern.flags & re.ASCII
    ]

    assert offenders == []


# --- what no view matched ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path",
    ["/open-banking/payments/v4/nothing-here", "/open-banking/payments/v9/consents", "/open-banking/"],
)
def test_unmatched_api_paths_answer_the_regulated_404(db: None, path: str, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        response = wsgi_http().get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "TRACE"])
def test_undocumented_methods_are_a_regulated_405(tpp: TppActor, client_credentials_token: str, method: str) -> None:
    response = tpp.api.generic(
        method,
        f"{API}/consents",
        headers={"Authorization": f"Bearer {client_credentials_token}", "x-fapi-interaction-id": str(uuid.uuid4())},
    )

    body = assert_response_matches_spec(response, path="/consents", method="post") if method == "OPTIONS" else None
    assert response.status_code == 405
    assert json.loads(response.content)["errors"][0]["code"] == "METHOD_NOT_ALLOWED"
    assert "OPTIONS" not in response["Allow"]
    assert body is None or body["errors"][0]["code"] == "METHOD_NOT_ALLOWED"


def test_options_without_any_header_is_still_405(db: None) -> None:
    response = wsgi_http().options(f"{API}/consents")

    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["x-fapi-interaction-id"]


def test_an_oversized_request_line_is_a_regulated_400(db: None) -> None:
    path = f"{API}/consents/urn:bank:" + "a" * MAX_REQUEST_LINE_BYTES

    response = wsgi_http().get(path)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["errors"][0]["code"] == "PARAMETRO_INVALIDO"


@pytest.mark.parametrize("accept", ["application/jwt;q=0", "application/jwt; q=0.0, */*", "*/*;q=0"])
def test_accept_with_q_zero_is_not_acceptable(v4: PaymentsV4, tpp: TppActor, accept: str) -> None:
    consent_id = v4.create_consent(consent_data())

    response = tpp.get(f"{API}/consents/{consent_id}", token=v4.token, accept=accept)

    body = assert_response_matches_spec(response, path="/consents/{consentId}", method="get")
    assert response.status_code == 406
    assert body["errors"][0]["code"] == "NOT_ACCEPTABLE"


def test_accept_with_a_positive_weight_still_gets_jwt(v4: PaymentsV4, tpp: TppActor) -> None:
    consent_id = v4.create_consent(consent_data())

    response = tpp.get(f"{API}/consents/{consent_id}", token=v4.token, accept="text/html;q=0, application/jwt;q=0.5")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwt"


@pytest.mark.parametrize("debug", [False, True])
def test_django_s_own_errors_under_the_api_prefix_are_regulated_json(db: None, debug: bool) -> None:
    with override_settings(DEBUG=debug):
        disallowed_host = wsgi_http().get(f"{API}/consents/urn:bank:x", headers={"Host": "evil.example.com"})
        oversized_form = wsgi_http().post(
            f"{API}/consents",
            content=b"a=" + b"b" * (3 * 1024 * 1024),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    for response in (disallowed_host, oversized_form):
        assert 400 <= response.status_code < 500, response.status_code
        assert response.headers["content-type"] == "application/json; charset=utf-8", response.text[:200]
        assert response.json()["errors"][0]["code"]


def test_outside_the_api_prefix_django_s_pages_stay(db: None) -> None:
    response = wsgi_http().get("/health", headers={"Host": "evil.example.com"})

    assert response.status_code == 400
    assert "application/json" not in response.headers["content-type"]
