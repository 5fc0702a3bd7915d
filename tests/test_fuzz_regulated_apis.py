"""Property-based fuzz of the three regulated APIs (issue 14): every operation of payments-4.0.0.yml,
automatic-payments-2.0.0.yml and enrollments-2.1.0.yml is called with a real token and a correctly signed body
that Hypothesis bends (NUL characters, non-ASCII digits, deep nesting, oversized, wrongly typed, missing and extra
fields, hostile path and query ids). Whatever comes in, the answer is no 5xx, a JSON or JWS body, and a response
the operation's yml documents (status, headers, schema).

The operations come from the yml files themselves; the test fails when an operation has no target here.
"""

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opusof.timeutil import business_date
from opusof.tokens import access_token_mint
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.enrollments_v2 import EnrollmentsV2, enrollment_data, own_account, risk_signals
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import PaymentsV4, cancel_body
from tests.support.recurring_bodies import sweeping_consent, sweeping_payment
from tests.support.spec import assert_response_matches_spec, load_spec
from tests.support.tpp import TppActor

SPECS = {
    "payments-4.0.0.yml": "/open-banking/payments/v4",
    "automatic-payments-2.0.0.yml": "/open-banking/automatic-payments/v2",
    "enrollments-2.1.0.yml": "/open-banking/enrollments/v2",
}
EXAMPLES_PER_OPERATION = 24
NESTING = 10_000
DEEP = "__DEEP__"

HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [
            "a\x00b",
            "\x00",
            "\uff11\uff12.\uff13\uff14",  # full-width digits
            "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661",  # Arabic-Indic digits
            "x" * 100_000,
            DEEP,
            "",
            " ",
            "2026-02-30",
            "-1.00",
            "0.00",
            "99999999999999999.99",
        ]
    ),
    st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=3),
)
HOSTILE_IDS = st.one_of(
    st.sampled_from(["%00", "urn:bank:%00", "%EF%BC%91%EF%BC%92", "a" * 300, "urn:bank:" + "%20" * 10, "..", "%2F"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10).map(
        lambda text: quote(text, safe="")
    ),
)


@dataclass(frozen=True)
class Target:
    spec: str
    spec_path: str
    method: str
    path: str
    token: str
    body: Any = None
    query: dict[str, str] | None = None


def _spec_operations() -> set[tuple[str, str, str]]:
    return {
        (spec, path, method)
        for spec in SPECS
        for path, item in load_spec(spec)["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*prefix, index))


def _mutated(body: Any, data: st.DataObject) -> Any:
    body = json.loads(json.dumps(body))
    paths = list(_leaf_paths(body))
    path = data.draw(st.sampled_from(paths), label="at")
    kind = data.draw(st.sampled_from(["replace", "delete", "extra"]), label="mutation")
    if not path:
        return body if kind != "replace" else data.draw(HOSTILE_VALUES, label="body")
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if kind == "replace":
        parent[path[-1]] = data.draw(HOSTILE_VALUES, label="value")
    elif kind == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.sampled_from(["x\x00", "extra", "\uff11"]), label="key")] = data.draw(HOSTILE_VALUES)
    return body


def _send(tpp: TppActor, target: Target, body: Any, path: str, query: dict[str, str] | None) -> Any:
    url = path + ("?" + "&".join(f"{name}={value}" for name, value in query.items()) if query else "")
    if target.method == "get":
        return tpp.get(url, token=target.token)
    claims_body = body if isinstance(body, dict) else {"data": body}  # the claims are an object whatever the body
    if DEEP in json.dumps(claims_body):
        claims = tpp.claims_for(path, claims_body)
        payload = json.dumps(claims).replace(json.dumps(DEEP), "[" * NESTING + "]" * NESTING)
        return tpp.send(target.method, url, token=target.token, raw_body=_raw_jws(tpp, payload))
    return tpp.send(target.method, url, claims_body, token=target.token)


def _raw_jws(tpp: TppActor, payload: str) -> str:
    raw: str = jwt.PyJWS().encode(payload.encode(), tpp.key, algorithm="PS256", headers={"kid": tpp.kid, "typ": "JWT"})
    return raw


@pytest.fixture
def targets(tpp: TppActor, demo_bank: dict[str, Any]) -> list[Target]:
    """One target per regulated operation, with the state it needs (consents, payments, enrollments)."""
    tpp.client.scopes = sorted({*tpp.client.scopes, "recurring-payments"})
    tpp.client.save(update_fields=["scopes"])
    payments_token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["payments"])
    recurring_token = access_token_mint(
        client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"]
    )
    v4 = PaymentsV4(tpp=tpp, token=payments_token)
    ap2 = AutomaticPaymentsV2(tpp=tpp, token=recurring_token)
    v2 = EnrollmentsV2(tpp=tpp, token=payments_token)

    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    paid, body = v4.post_payments(consent_id, [payment_item(data)])
    assert paid.status_code == 201, body
    payment_id = body["data"][0]["paymentId"]
    open_consent = consent_data()
    open_consent_id = v4.authorised_consent(open_consent, debtor=own(ANA_ACCOUNT))

    recurring_id = ap2.authorised_consent(sweeping_consent(total="100000.00"), debtor=own(ANA_ACCOUNT))
    recurring_payment = ap2.pay(recurring_id, sweeping_payment())

    enrollment_id = v2.create(enrollment_data(debtor=own_account()))
    awaiting = v2.awaiting_enrollment()
    _, options = v2.registration_options(awaiting)
    credential = v2.device.create(options["data"], origin=v2.origin)
    waiting_consent = v4.create_consent(consent_data())
    authorised_enrollment = v2.authorised()
    assertion = v2.sign(authorised_enrollment, waiting_consent)

    p, r, e = SPECS.values()
    pay_spec, rec_spec, enr_spec = SPECS
    today = business_date().isoformat()
    return [
        Target(pay_spec, "/consents", "post", f"{p}/consents", payments_token, {"data": consent_data()}),
        Target(pay_spec, "/consents/{consentId}", "get", f"{p}/consents/{consent_id}", payments_token),
        Target(
            pay_spec,
            "/pix/payments",
            "post",
            f"{p}/pix/payments",
            v4.consent_token(open_consent_id),
            {"data": [payment_item(open_consent)]},
        ),
        Target(pay_spec, "/pix/payments/{paymentId}", "get", f"{p}/pix/payments/{payment_id}", payments_token),
        Target(
            pay_spec,
            "/pix/payments/{paymentId}",
            "patch",
            f"{p}/pix/payments/{payment_id}",
            payments_token,
            cancel_body("12345678909"),
        ),
        Target(
            pay_spec,
            "/pix/payments/consents/{consentId}",
            "patch",
            f"{p}/pix/payments/consents/{consent_id}",
            payments_token,
            cancel_body("12345678909"),
        ),
        Target(
            rec_spec,
            "/recurring-consents",
            "post",
            f"{r}/recurring-consents",
            recurring_token,
            {"data": sweeping_consent()},
        ),
        Target(
            rec_spec,
            "/recurring-consents/{recurringConsentId}",
            "get",
            f"{r}/recurring-consents/{recurring_id}",
            recurring_token,
        ),
        Target(
            rec_spec,
            "/recurring-consents/{recurringConsentId}",
            "patch",
            f"{r}/recurring-consents/{recurring_id}",
            recurring_token,
            {
                "data": {
                    "status": "REVOKED",
                    "revocation": {
                        "revokedBy": "USUARIO",
                        "revokedFrom": "INICIADORA",
                        "reason": {"code": "REVOGADO_USUARIO", "detail": "x"},
                    },
                }
            },
        ),
        Target(
            rec_spec,
            "/pix/recurring-payments",
            "post",
            f"{r}/pix/recurring-payments",
            ap2.consent_token(recurring_id),
            {"data": sweeping_payment(day=dt.date.fromisoformat(today))},
        ),
        Target(
            rec_spec,
            "/pix/recurring-payments",
            "get",
            f"{r}/pix/recurring-payments",
            recurring_token,
            query={"recurringConsentId": recurring_id, "startDate": today},
        ),
        Target(
            rec_spec,
            "/pix/recurring-payments/{recurringPaymentId}",
            "get",
            f"{r}/pix/recurring-payments/{recurring_payment['recurringPaymentId']}",
            recurring_token,
        ),
        Target(
            rec_spec,
            "/pix/recurring-payments/{recurringPaymentId}",
            "patch",
            f"{r}/pix/recurring-payments/{recurring_payment['recurringPaymentId']}",
            recurring_token,
            cancel_body("12345678909"),
        ),
        Target(enr_spec, "/enrollments", "post", f"{e}/enrollments", payments_token, {"data": enrollment_data()}),
        Target(enr_spec, "/enrollments/{enrollmentId}", "get", f"{e}/enrollments/{enrollment_id}", payments_token),
        Target(
            enr_spec,
            "/enrollments/{enrollmentId}",
            "patch",
            f"{e}/enrollments/{enrollment_id}",
            payments_token,
            {"data": {"cancellation": {"reason": {"rejectionReason": "REJEITADO_MANUALMENTE"}}}},
        ),
        Target(
            enr_spec,
            "/enrollments/{enrollmentId}/fido-registration-options",
            "post",
            f"{e}/enrollments/{awaiting}/fido-registration-options",
            v2.journey_token(awaiting),
            {"data": {"rp": v2.rp_id, "platform": "BROWSER"}},
        ),
        Target(
            enr_spec,
            "/enrollments/{enrollmentId}/fido-registration",
            "post",
            f"{e}/enrollments/{awaiting}/fido-registration",
            v2.journey_token(awaiting),
            {"data": credential},
        ),
        Target(
            enr_spec,
            "/enrollments/{enrollmentId}/fido-sign-options",
            "post",
            f"{e}/enrollments/{authorised_enrollment}/fido-sign-options",
            payments_token,
            {"data": {"rp": v2.rp_id, "platform": "BROWSER", "consentId": waiting_consent}},
        ),
        Target(
            enr_spec,
            "/enrollments/{enrollmentId}/risk-signals",
            "post",
            f"{e}/enrollments/{enrollment_id}/risk-signals",
            payments_token,
            {"data": risk_signals()},
        ),
        Target(
            enr_spec,
            "/consents/{consentId}/authorise",
            "post",
            f"{e}/consents/{waiting_consent}/authorise",
            v2.journey_token(authorised_enrollment),
            {
                "data": {
                    "enrollmentId": authorised_enrollment,
                    "riskSignals": risk_signals(),
                    "fidoAssertion": assertion,
                }
            },
        ),
    ]


def test_every_operation_of_the_three_specs_has_a_fuzz_target(targets: list[Target]) -> None:
    covered = {(target.spec, target.spec_path, target.method) for target in targets}

    assert _spec_operations() - covered == set()


def _assert_regulated(response: Any, target: Target, path: str) -> None:
    assert response.status_code < 500, (target.method, path[:300], response.status_code, response.content[:500])
    content_type = response.get("Content-Type", "")
    if response.status_code != 204:
        assert content_type in ("application/json; charset=utf-8", "application/jwt"), (content_type, target.path)
    assert_response_matches_spec(response, spec=target.spec, path=target.spec_path, method=target.method)


@settings(
    max_examples=EXAMPLES_PER_OPERATION * 21,  # 21 operations in the three yml files
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
    database=None,
)
@given(data=st.data())
def test_bent_requests_get_regulated_answers(tpp: TppActor, targets: list[Target], data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(targets), label="operation")
    path, query, body = target.path, target.query, target.body
    where = data.draw(st.sampled_from(["body", "path", "query"] if target.method != "get" else ["path", "query"]))
    if where == "body" and body is not None:
        body = _mutated(body, data)
    elif where == "path" and target.spec_path.endswith("}"):
        path = path.rsplit("/", 1)[0] + "/" + data.draw(HOSTILE_IDS, label="id")
    elif where == "query":
        query = {
            **(query or {}),
            data.draw(st.sampled_from(["recurringConsentId", "startDate", "x"])): quote(
                data.draw(st.sampled_from(["\x00", "\uff11", "2026-13-01", "a" * 5000]), label="query"), safe=""
            ),
        }

    response = _send(tpp, target, body, path, query)

    _assert_regulated(response, target, path)
