"""POST /pix/payments with the non-redirect token (payments-4.0.0.yml security NonRedirectAuthorizationCode: openid
enrollment:{enrollmentId} payments nrp-consents) after a consent was authorised with a FIDO assertion
(enrollments v2 POST /consents/{consentId}/authorise), driven end to end with the software authenticator. Every
response is validated against payments-4.0.0.yml (PaymentsV4.post_payments) or enrollments-2.1.0.yml."""

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from opusof.timeutil import business_date
from opusof.tokens import access_token_mint
from payments.models import PixPayment
from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.payment_bodies import ANA_ACCOUNT, consent_data, own, payment_item
from tests.support.payments_v4 import PaymentsV4, error_codes
from tests.support.spec import decode_holder_jws
from tests.support.tpp import TppActor


@pytest.fixture
def v2(tpp: TppActor, client_credentials_token: str, demo_bank: dict[str, Any]) -> EnrollmentsV2:
    return EnrollmentsV2(tpp=tpp, token=client_credentials_token)


def fido_consent(v2: EnrollmentsV2, v4: PaymentsV4, enrollment_id: str, data: dict[str, Any]) -> str:
    """A payments consent authorised through ``enrollment_id`` (fido-sign-options, then authorise)."""
    consent_id = v4.create_consent(data)
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
    assert response.status_code == 204, body
    return consent_id


def fido_item(data: dict[str, Any], consent_id: str, **overrides: Any) -> dict[str, Any]:
    return payment_item(data, authorisationFlow="FIDO_FLOW", consentId=consent_id, **overrides)


def pay(v4: PaymentsV4, v2: EnrollmentsV2, enrollment_id: str, items: list[dict[str, Any]], **kwargs: Any) -> Any:
    token = kwargs.pop("token", None) or v2.journey_token(enrollment_id)
    return v4.post_payments(items[0].get("consentId", ""), items, token=token, **kwargs)


def assert_untouched(v4: PaymentsV4, consent_id: str) -> None:
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    assert not PixPayment.objects.filter(consent__consent_id=consent_id).exists()


def test_payment_without_redirect_end_to_end(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    # given an enrollment registered by the device and a consent (no debtor account) authorised by its assertion
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1500.00")
    data = consent_data(amount="100.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"

    # when the TPP creates the payment with the enrollment's token, FIDO_FLOW and the consent in the body
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])

    # then it settles like any immediate payment, and the response names the consent and the flow
    assert response.status_code == 201, body
    payment = body["data"][0]
    assert payment["status"] == "ACSC"
    assert payment["consentId"] == consent_id
    assert payment["authorisationFlow"] == "FIDO_FLOW"
    assert payment["debtorAccount"]["number"] == ANA_ACCOUNT["number"]
    assert v4.get_payment(payment["paymentId"])["status"] == "ACSC"
    assert v4.get_consent(consent_id)["status"] == "CONSUMED"


def test_replay_with_the_same_idempotency_key_returns_the_same_payment(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data(amount="10.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    item = fido_item(data, consent_id)
    key = str(uuid.uuid4())
    first, body = pay(v4, v2, enrollment_id, [item], idempotency_key=key)
    again, replayed = pay(v4, v2, enrollment_id, [item], idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert replayed["data"] == body["data"]
    assert PixPayment.objects.filter(consent__consent_id=consent_id).count() == 1


def test_token_of_another_enrollment_is_forbidden(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    other = EnrollmentsV2(tpp=v2.tpp, token=v2.token)
    other_enrollment = other.authorised()
    data = consent_data()
    consent_id = fido_consent(v2, v4, enrollment_id, data)

    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)], token=v2.journey_token(other_enrollment))

    assert response.status_code == 403, body
    assert error_codes(body) == ["FORBIDDEN"]
    assert_untouched(v4, consent_id)


def test_consent_authorised_through_the_redirect_journey_is_forbidden(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data()
    consent_id = v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))

    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])

    assert response.status_code == 403, body
    assert error_codes(body) == ["FORBIDDEN"]
    assert_untouched(v4, consent_id)


def test_consent_not_yet_authorised_is_forbidden(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data()
    consent_id = v4.create_consent(data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])
    assert response.status_code == 403, body
    assert v4.get_consent(consent_id)["status"] == "AWAITING_AUTHORISATION"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"authorisationFlow": None}, "PARAMETRO_NAO_INFORMADO"),
        ({"consentId": None}, "PARAMETRO_NAO_INFORMADO"),
        # §2.2.2.8 (payments-4.0.0.yml line 111): a business rule, not a format error
        ({"authorisationFlow": "HYBRID_FLOW"}, "DETALHE_PAGAMENTO_INVALIDO"),
        ({"authorisationFlow": "CIBA_FLOW"}, "DETALHE_PAGAMENTO_INVALIDO"),
    ],
)
def test_fido_flow_fields_are_required(v2: EnrollmentsV2, v4: PaymentsV4, change: dict[str, Any], code: str) -> None:
    enrollment_id = v2.authorised()
    data = consent_data()
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    item = fido_item(data, consent_id)
    for key, value in change.items():
        if value is None:
            del item[key]
        else:
            item[key] = value

    response, body = pay(v4, v2, enrollment_id, [item])

    assert response.status_code == 422, body
    assert error_codes(body) == [code]
    assert_untouched(v4, consent_id)


def test_consent_id_of_another_consent_of_the_same_enrollment_diverges(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data(amount="10.00")
    first = fido_consent(v2, v4, enrollment_id, data)
    second = fido_consent(v2, v4, enrollment_id, data)
    items = [fido_item(data, first)]
    items[0]["consentId"] = second
    items[0]["payment"] = {"amount": "11.00", "currency": "BRL"}

    response, body = pay(v4, v2, enrollment_id, items)

    assert response.status_code == 422, body
    assert error_codes(body) == ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"]
    assert_untouched(v4, first)
    assert_untouched(v4, second)


def test_revoked_enrollment_token_is_unauthorized(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data()
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, _ = v2.patch(enrollment_id, {"reason": {"revocationReason": "REVOGADO_MANUALMENTE"}})
    assert response.status_code == 204

    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])

    assert response.status_code == 401, body
    assert error_codes(body) == ["UNAUTHORIZED"]
    assert_untouched(v4, consent_id)


def test_enrollment_token_without_nrp_consents_scope_is_forbidden(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    data = consent_data()
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    token = access_token_mint(
        client=v2.tpp.client,
        grant_type="authorization_code",
        scopes=["openid", "payments", f"enrollment:{enrollment_id}"],
        consent_id=enrollment_id,
    )
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)], token=token)
    assert response.status_code == 403, body
    assert_untouched(v4, consent_id)


def test_consent_of_another_tpp_is_forbidden(v2: EnrollmentsV2, v4: PaymentsV4, other_tpp: TppActor) -> None:
    enrollment_id = v2.authorised()
    other_v4 = PaymentsV4(
        tpp=other_tpp,
        token=access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"]),
    )
    data = consent_data()
    foreign = other_v4.authorised_consent(data, debtor=own(ANA_ACCOUNT))

    response, body = pay(v4, v2, enrollment_id, [fido_item(data, foreign)])

    assert response.status_code == 403, body
    assert other_v4.get_consent(foreign)["status"] == "AUTHORISED"
    assert not PixPayment.objects.filter(consent__consent_id=foreign).exists()


# --- the enrollment's limits, checked at settlement (enrollments-2.1.0.yml line 520) ------------------------------


def test_over_the_transaction_limit_is_valor_acima_limite(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(transaction_limit="100.00", daily_limit=None)
    data = consent_data(amount="100.01")
    consent_id = fido_consent(v2, v4, enrollment_id, data)

    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])

    # §2.2.2.2, refused at settlement like a bank refusal: no payment, the consent consumed
    assert response.status_code == 422, body
    assert error_codes(body) == ["VALOR_ACIMA_LIMITE"]
    assert v4.get_consent(consent_id)["status"] == "CONSUMED"
    assert not PixPayment.objects.filter(consent__consent_id=consent_id).exists()


def test_over_the_daily_limit_is_valor_acima_limite(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1500.00")
    for amount in ("1000.00", "500.00"):
        data = consent_data(amount=amount)
        consent_id = fido_consent(v2, v4, enrollment_id, data)
        response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])
        assert response.status_code == 201, body

    data = consent_data(amount="0.01")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])

    assert response.status_code == 422, body
    assert error_codes(body) == ["VALOR_ACIMA_LIMITE"]


def test_scheduled_payments_count_against_their_settlement_day(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1000.00")
    day = business_date() + dt.timedelta(days=3)
    data = consent_data(amount="600.00", schedule={"single": {"date": day.isoformat()}})
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id, day=day)])
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "SCHD"

    # an immediate payment today is not that day's ...
    data = consent_data(amount="100.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    assert pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])[0].status_code == 201

    # ... but a second one scheduled for the same day would settle 1 100.00 on it
    data = consent_data(amount="500.00", schedule={"single": {"date": day.isoformat()}})
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id, day=day)])
    assert response.status_code == 422, body
    assert error_codes(body) == ["VALOR_ACIMA_LIMITE"]
    assert not PixPayment.objects.filter(consent__consent_id=consent_id).exists()


def test_rejected_payments_do_not_use_the_daily_limit(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1000.00")
    data = consent_data(amount="1000.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])
    assert response.status_code == 201, body
    PixPayment.objects.filter(consent__consent_id=consent_id).update(status="RJCT")

    data = consent_data(amount="1000.00")
    consent_id = fido_consent(v2, v4, enrollment_id, data)
    response, body = pay(v4, v2, enrollment_id, [fido_item(data, consent_id)])
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"


@pytest.mark.django_db(transaction=True)
def test_parallel_payments_cannot_both_use_the_daily_limit(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    # given two consents of 800.00 authorised through an enrollment allowed 1000.00 a day
    enrollment_id = v2.authorised(transaction_limit="1000.00", daily_limit="1000.00")
    requests = []
    for _ in range(2):
        data = consent_data(amount="800.00")
        consent_id = fido_consent(v2, v4, enrollment_id, data)
        requests.append({"data": [fido_item(data, consent_id)]})
    token = v2.journey_token(enrollment_id)

    # when both payments arrive at once (real PostgreSQL, one connection each)
    def call(body: dict[str, Any]) -> tuple[int, list[str]]:
        v2.tpp.api = APIClient()
        try:
            response = v2.tpp.post("/open-banking/payments/v4/pix/payments", body, token=token)
            payload = decode_holder_jws(getattr(response, "content", b""))
            return response.status_code, [error["code"] for error in payload.get("errors", [])]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = sorted(pool.map(call, requests))

    # then the enrollment's row lock lets exactly one through
    assert results == [(201, []), (422, ["VALOR_ACIMA_LIMITE"])]
    assert PixPayment.objects.count() == 1
