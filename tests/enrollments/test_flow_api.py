"""Enrollments v2 end to end over the API with a software authenticator: enrollment, FIDO2 registration, then a
payments v4 consent authorised without redirect. Every response is checked against enrollments-2.1.0.yml."""

from decimal import Decimal

from enrollments.models import Enrollment, EnrollmentStatusChange, FidoCredential
from tests.support.enrollments_v2 import EnrollmentsV2, enrollment_data, own_account
from tests.support.payment_bodies import consent_data
from tests.support.payments_v4 import PaymentsV4


def test_enrollment_is_created_awaiting_risk_signals(v2: EnrollmentsV2) -> None:
    response, body = v2.post_enrollment(enrollment_data(debtor=own_account()))

    assert response.status_code == 201
    data = body["data"]
    assert data["status"] == "AWAITING_RISK_SIGNALS"
    assert data["enrollmentId"].startswith("urn:opusof:")
    assert data["debtorAccount"]["number"] == own_account()["number"]
    assert data["enrollmentName"] == "Celular da Ana"
    assert body["links"]["self"].endswith(f"/open-banking/enrollments/v2/enrollments/{data['enrollmentId']}")
    assert v2.get(data["enrollmentId"])["status"] == "AWAITING_RISK_SIGNALS"


def test_full_flow_registers_a_credential_and_authorises_a_payment_consent(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    # given an enrollment through risk signals and the customer's approval at the bank
    enrollment_id = v2.create()
    response, _ = v2.post_risk_signals(enrollment_id)
    assert response.status_code == 204
    assert v2.get(enrollment_id)["status"] == "AWAITING_ACCOUNT_HOLDER_VALIDATION"
    v2.approve(enrollment_id, transaction_limit="1000.00", daily_limit="1500.00")
    awaiting = v2.get(enrollment_id)
    assert awaiting["status"] == "AWAITING_ENROLLMENT"
    assert awaiting["transactionLimit"] == "1000.00"
    assert awaiting["dailyLimit"] == "1500.00"

    # when the device registers its credential
    response, options = v2.registration_options(enrollment_id)
    assert response.status_code == 201
    creation = options["data"]
    assert creation["enrollmentId"] == enrollment_id
    assert creation["rp"] == {"id": "tpp-one.example.com", "name": v2.tpp.client.name}
    assert {"alg": -7, "type": "public-key"} in creation["pubKeyCredParams"]
    response, _ = v2.register(enrollment_id, v2.device.create(creation, origin=v2.origin))

    # then the enrollment is AUTHORISED
    assert response.status_code == 204
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"
    credential = FidoCredential.objects.get(enrollment__enrollment_id=enrollment_id)
    assert credential.credential_id == v2.device.create(creation, origin=v2.origin)["id"]

    # and a payment consent without debtor account is authorised with a FIDO assertion
    consent_id = v4.create_consent(consent_data(amount="100.00"))
    response, sign = v2.sign_options(enrollment_id, consent_id)
    assert response.status_code == 201
    assert sign["data"]["rpId"] == "tpp-one.example.com"
    assert sign["data"]["allowCredentials"] == [{"id": credential.credential_id, "type": "public-key"}]
    response, _ = v2.authorise(consent_id, enrollment_id, v2.device.get(sign["data"], origin=v2.origin))

    assert response.status_code == 204
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "AUTHORISED"
    # authorizeConsent: a consent without debtorAccount takes the enrollment's
    assert consent["debtorAccount"]["number"] == own_account()["number"]
    credential.refresh_from_db()
    assert credential.sign_count == 1
    history = list(
        EnrollmentStatusChange.objects.filter(enrollment__enrollment_id=enrollment_id).values_list(
            "to_status", flat=True
        )
    )
    assert history == [
        "AWAITING_RISK_SIGNALS",
        "AWAITING_ACCOUNT_HOLDER_VALIDATION",
        "AWAITING_ENROLLMENT",
        "AUTHORISED",
    ]


def test_second_payment_with_the_same_device(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    for _ in range(2):
        consent_id = v4.create_consent(consent_data(amount="10.00"))
        response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
        assert response.status_code == 204, body
        assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    assert FidoCredential.objects.get(enrollment__enrollment_id=enrollment_id).sign_count == 2


def test_enrollment_of_another_tpp_is_not_found(v2: EnrollmentsV2, other_tpp, client_credentials_token) -> None:
    enrollment_id = v2.create()
    from opusof.tokens import access_token_mint

    other_token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["payments"])
    response = other_tpp.get(f"/open-banking/enrollments/v2/enrollments/{enrollment_id}", token=other_token)

    assert response.status_code == 404
    v2.checked(response, "enrollment", "get")


def test_approval_with_limits_is_stored_as_decimal(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment(transaction_limit="250.50", daily_limit=None)

    enrollment = Enrollment.objects.get(enrollment_id=enrollment_id)
    assert enrollment.transaction_limit == Decimal("250.50")
    assert enrollment.daily_limit is None
    assert "dailyLimit" not in v2.get(enrollment_id)
