"""Signature, claims, token and header checks on the automatic payments v2 endpoints (nothing is written), and the
edges of consent creation and payment checks not covered elsewhere."""

import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from opusof.ofb import account_from_wire
from opusof.timeutil import business_date
from recurring.errors import ConsentNotAuthorisable
from recurring.models import RecurringConsent, RecurringPayment
from recurring.services.consents import recurring_consent_authorise
from tests.support.automatic_payments_v2 import API, checked, error_codes
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    ANA_SAVINGS,
    automatic_consent,
    automatic_payment,
    own,
    sweeping_consent,
    sweeping_payment,
)
from tests.support.tpp import DROP

CONSENTS = f"{API}/recurring-consents"


@pytest.fixture(scope="module")
def stranger_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": "not-a-jws"}, 400, "BAD_SIGNATURE"),
        ({"sign_with": "stranger"}, 400, "BAD_SIGNATURE"),
        ({"override_claims": {"iat": int(time.time()) - 600}}, 403, "INVALID_CLIENT"),
        (
            {"override_claims": {"aud": "https://api.opusof.test/open-banking/payments/v4/consents"}},
            403,
            "INVALID_CLIENT",
        ),
        ({"override_claims": {"jti": DROP}}, 403, "INVALID_CLIENT"),
        ({"idempotency_key": None}, 422, "PARAMETRO_NAO_INFORMADO"),
        ({"content_type": "application/json"}, 400, "UNSUPPORTED_MEDIA_TYPE"),
        ({"accept": "application/xml"}, 406, None),
        ({"interaction_id": None}, 400, None),
        ({"token": "not-a-token"}, 401, None),
    ],
)
def test_rejected_consent_requests_write_nothing(ap2, stranger_key, kwargs, status, code):
    if kwargs.get("sign_with") == "stranger":
        kwargs = {**kwargs, "sign_with": stranger_key}
    kwargs.setdefault("token", ap2.token)
    response = ap2.tpp.post(CONSENTS, {"data": sweeping_consent()}, **kwargs)
    body = checked(response, "consents", "post")
    assert response.status_code == status
    if code:
        assert error_codes(body) == [code]
    assert response["x-fapi-interaction-id"]
    assert not RecurringConsent.objects.exists()


def test_patch_without_idempotency_key_is_parameter_missing(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    body = {
        "status": "REVOKED",
        "revocation": {
            "revokedBy": "USUARIO",
            "revokedFrom": "INICIADORA",
            "reason": {"code": "NAO_INFORMADO", "detail": "x"},
        },
    }
    response, errors = ap2.patch_consent(consent_id, body, idempotency_key=None)
    assert (response.status_code, error_codes(errors)) == (422, ["PARAMETRO_NAO_INFORMADO"])
    assert RecurringConsent.objects.get(recurring_consent_id=consent_id).status == "AUTHORISED"


def test_patch_revocation_from_the_holder_channel_is_refused(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    body = {
        "status": "REVOKED",
        "revocation": {
            "revokedBy": "USUARIO",
            "revokedFrom": "DETENTORA",
            "reason": {"code": "NAO_INFORMADO", "detail": "x"},
        },
    }
    response, errors = ap2.patch_consent(consent_id, body)
    assert (response.status_code, error_codes(errors)) == (422, ["PARAMETRO_INVALIDO"])


def test_payment_token_of_another_consent_cannot_be_used(ap2):
    first = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    second = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    response, body = ap2.post_payment(first, sweeping_payment(recurringConsentId=second))
    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])
    assert not RecurringPayment.objects.exists()


def test_reused_end_to_end_id_is_invalid(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    data = sweeping_payment("1.00")
    ap2.pay(consent_id, data)
    response, body = ap2.post_payment(consent_id, data)
    assert (response.status_code, error_codes(body)) == (422, ["PARAMETRO_INVALIDO"])
    assert RecurringPayment.objects.count() == 1


def test_end_to_end_id_must_name_the_settlement_date(ap2):
    consent_id = ap2.authorised_consent(automatic_consent(), debtor=own(ANA_ACCOUNT))
    data = automatic_payment(days_ahead=3)
    data["endToEndId"] = automatic_payment(days_ahead=6)["endToEndId"]
    response, body = ap2.post_payment(consent_id, data)
    assert (response.status_code, error_codes(body)) == (422, ["PARAMETRO_INVALIDO"])


def test_sweeping_to_the_debtor_account_itself_is_refused(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    response, body = ap2.post_payment(consent_id, sweeping_payment(creditorAccount=own(ANA_ACCOUNT)))
    assert (response.status_code, error_codes(body)) == (422, ["DETALHE_PAGAMENTO_INVALIDO"])


def test_sweeping_needs_risk_signals(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    data = sweeping_payment()
    del data["riskSignals"]
    response, body = ap2.post_payment(consent_id, data)
    assert (response.status_code, error_codes(body)) == (422, ["PARAMETRO_NAO_INFORMADO"])


def test_sweeping_before_its_start_diverges_from_the_consent(ap2):
    data = sweeping_consent()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    data["recurringConfiguration"]["sweeping"]["startDateTime"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    consent_id = ap2.authorised_consent(data, debtor=own(ANA_ACCOUNT))
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    # opusof.spec_versions "charge-before-start": the 2.2.0 certification suite's code
    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])


def test_business_sweeping_creditors_share_the_cnpj_root(ap2):
    data = sweeping_consent()
    data["businessEntity"] = {"document": {"identification": "11222333000181", "rel": "CNPJ"}}
    data["creditors"] = [{"personType": "PESSOA_JURIDICA", "cpfCnpj": "11222333000262", "name": "Padaria Filial"}]
    response, body = ap2.post_consent(data)
    assert response.status_code == 201, body
    data["creditors"] = [{"personType": "PESSOA_JURIDICA", "cpfCnpj": "12345678000195", "name": "Outra Empresa"}]
    response, body = ap2.post_consent(data)
    assert (response.status_code, error_codes(body)) == (422, ["DETALHE_PAGAMENTO_INVALIDO"])


def test_debtor_account_fixed_by_the_tpp_must_be_the_chosen_one(ap2):
    data = sweeping_consent()
    data["debtorAccount"] = {k: v for k, v in own(ANA_ACCOUNT).items() if v is not None}
    consent_id = ap2.create_consent(data)
    with pytest.raises(ConsentNotAuthorisable):
        recurring_consent_authorise(
            recurring_consent_id=consent_id, debtor_account=account_from_wire(own(ANA_SAVINGS)), actor="customer:ana"
        )
    assert ap2.get_consent(consent_id)["status"] == "AWAITING_AUTHORISATION"


def test_expiry_in_the_past_is_an_invalid_date(ap2):
    yesterday = business_date() - dt.timedelta(days=1)
    response, body = ap2.post_consent(automatic_consent(expiration=f"{yesterday.isoformat()}T23:59:59Z"))
    assert (response.status_code, error_codes(body)) == (422, ["DATA_PAGAMENTO_INVALIDA"])


def test_no_payment_after_the_consent_expired(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    RecurringConsent.objects.filter(recurring_consent_id=consent_id).update(
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    # before any sweep: the charge finds the consent expired, i.e. CONSUMED, a final state (§4.2.2.4)
    response, body = ap2.post_payment(consent_id, sweeping_payment())
    assert (response.status_code, error_codes(body)) == (422, ["CONSENTIMENTO_INVALIDO"])
    assert RecurringConsent.objects.get(recurring_consent_id=consent_id).status == "CONSUMED"
    assert ap2.get_consent(consent_id)["status"] == "CONSUMED"


def test_sweeping_to_someone_elses_account_here_is_divergent(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    bruno = {"ispb": None, "issuer": "0001", "number": "20000001", "accountType": "CACC"}
    response, body = ap2.post_payment(consent_id, sweeping_payment(creditorAccount=own(bruno)))
    assert (response.status_code, error_codes(body)) == (422, ["PAGAMENTO_DIVERGENTE_CONSENTIMENTO"])
    assert not RecurringPayment.objects.exists()


def test_payment_token_needs_the_recurring_consent_scope(ap2):
    from opusof.tokens import access_token_mint

    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    token = access_token_mint(
        client=ap2.tpp.client,
        grant_type="authorization_code",
        scopes=["openid", "recurring-payments", f"consent:{consent_id}"],
        consent_id=consent_id,
    )
    response, _ = ap2.post_payment(consent_id, sweeping_payment(), token=token)
    assert response.status_code == 403
    assert not RecurringPayment.objects.exists()
