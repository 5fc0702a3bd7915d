"""Every FIDO2 check refused with the spec's code, and nothing authorised: registration (422 with the FIDO code, the
enrollment REJECTED REJEITADO_FALHA_FIDO as fido-registration's description demands) and consent authorisation
(authorizeConsent's 422 has no FIDO code: 422 RISCO naming the failed check, the consent REJECTED NAO_INFORMADO as
after every 422 of that operation; see enrollments.consent_authorisation.consent_authorise_with_fido)."""

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from enrollments.models import EnrollmentConsentAuthorisation, FidoChallenge, FidoCredential
from tests.support.enrollments_v2 import EnrollmentsV2, own_account, risk_signals
from tests.support.fido_authenticator import UP, SoftAuthenticator
from tests.support.payment_bodies import consent_data
from tests.support.payments_v4 import PaymentsV4


def _code(body: dict) -> str:
    return str(body["errors"][0]["code"])


# --- registration ---------------------------------------------------------------------------------------------------


def _registration_refused(v2: EnrollmentsV2, enrollment_id: str, credential: dict, code: str) -> None:
    response, body = v2.register(enrollment_id, credential)
    assert response.status_code == 422, body
    assert _code(body) == code
    enrollment = v2.get(enrollment_id)
    assert enrollment["status"] == "REJECTED"
    assert enrollment["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_FALHA_FIDO"}
    assert enrollment["cancellation"]["cancelledFrom"] == "DETENTORA"
    assert not FidoCredential.objects.filter(enrollment__enrollment_id=enrollment_id).exists()


def _creation_options(v2: EnrollmentsV2, enrollment_id: str) -> dict:
    response, body = v2.registration_options(enrollment_id)
    assert response.status_code == 201, body
    return dict(body["data"])


def test_registration_from_a_foreign_origin_is_origem_fido_invalida(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    options = _creation_options(v2, enrollment_id)
    credential = v2.device.create(options, origin="https://evil.example.net")
    _registration_refused(v2, enrollment_id, credential, "ORIGEM_FIDO_INVALIDA")


def test_registration_for_another_rp_id_is_rp_id_hash_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    options = _creation_options(v2, enrollment_id)
    credential = v2.device.create(options, origin=v2.origin, rp_id="other.example.com")
    _registration_refused(v2, enrollment_id, credential, "RP_ID_HASH_INVALIDO")


def test_registration_with_another_challenge_is_challenge_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    _creation_options(v2, enrollment_id)
    credential = v2.device.create(_creation_options(v2, enrollment_id), origin=v2.origin, challenge="AAAAAAAAAAAA")
    _registration_refused(v2, enrollment_id, credential, "CHALLENGE_INVALIDO")


def test_registration_with_a_superseded_challenge_is_challenge_invalido(v2: EnrollmentsV2) -> None:
    # a new challenge on every options call (fido-registration-options): the first one no longer counts
    enrollment_id = v2.awaiting_enrollment()
    first = _creation_options(v2, enrollment_id)
    _creation_options(v2, enrollment_id)
    _registration_refused(v2, enrollment_id, v2.device.create(first, origin=v2.origin), "CHALLENGE_INVALIDO")


def test_registration_with_an_expired_challenge_is_challenge_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    options = _creation_options(v2, enrollment_id)
    FidoChallenge.objects.filter(enrollment__enrollment_id=enrollment_id).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    _registration_refused(v2, enrollment_id, v2.device.create(options, origin=v2.origin), "CHALLENGE_INVALIDO")


def test_registration_with_authenticator_extensions_is_extension_invalida(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    options = _creation_options(v2, enrollment_id)
    credential = v2.device.create(options, origin=v2.origin, extensions={"exotic": True})
    _registration_refused(v2, enrollment_id, credential, "EXTENSION_INVALIDA")


def test_registration_without_user_verification_is_refused(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    options = _creation_options(v2, enrollment_id)
    credential = v2.device.create(options, origin=v2.origin, flags=UP | 0x40)
    _registration_refused(v2, enrollment_id, credential, "PUBLIC_KEY_INVALIDA")


def test_too_many_registration_challenges_reject_the_enrollment(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    for _ in range(5):
        _creation_options(v2, enrollment_id)
    response, body = v2.registration_options(enrollment_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"
    enrollment = v2.get(enrollment_id)
    assert enrollment["status"] == "REJECTED"
    assert enrollment["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_MAXIMO_CHALLENGES_ATINGIDO"}


def test_registration_options_for_an_rp_the_tpp_does_not_own_is_rp_invalida(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    response, body = v2.registration_options(enrollment_id, rp="bank.example.org")
    assert response.status_code == 422
    assert _code(body) == "RP_INVALIDA"
    assert v2.get(enrollment_id)["status"] == "AWAITING_ENROLLMENT"


def test_registration_options_before_the_bank_approved_is_status_vinculo_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    response, body = v2.registration_options(enrollment_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"


def test_registration_with_a_token_of_another_enrollment_is_forbidden(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    other_id = v2.create()
    response, body = v2.registration_options(enrollment_id, token=v2.journey_token(other_id))
    assert response.status_code == 403
    assert _code(body) == "FORBIDDEN"


def test_registration_replayed_after_success_is_status_vinculo_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.awaiting_enrollment()
    credential = v2.device.create(_creation_options(v2, enrollment_id), origin=v2.origin)
    response, _ = v2.register(enrollment_id, credential)
    assert response.status_code == 204
    response, body = v2.register(enrollment_id, credential)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"


# --- consent authorisation ------------------------------------------------------------------------------------------


@pytest.fixture
def enrolled(v2: EnrollmentsV2) -> str:
    return v2.authorised()


def _authorise_refused(
    v2: EnrollmentsV2, v4: PaymentsV4, consent_id: str, enrollment_id: str, assertion: dict, *, status: int, code: str
) -> dict:
    response, body = v2.authorise(consent_id, enrollment_id, assertion)
    assert response.status_code == status, body
    assert _code(body) == code
    assert not EnrollmentConsentAuthorisation.objects.filter(consent_id=consent_id).exists()
    consent = v4.get_consent(consent_id)
    assert consent["status"] != "AUTHORISED"
    return dict(consent)


def _assertion_refused(
    v2: EnrollmentsV2, v4: PaymentsV4, consent_id: str, enrollment_id: str, assertion: dict, *, check: str
) -> None:
    consent = _authorise_refused(v2, v4, consent_id, enrollment_id, assertion, status=422, code="RISCO")
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "NAO_INFORMADO"
    assert consent["rejectionReason"]["detail"].startswith(f"{check}: ")


def test_assertion_from_a_foreign_origin_is_refused(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id, origin="https://evil.example.net")
    response, body = v2.authorise(consent_id, enrolled, assertion)
    assert response.status_code == 422, body
    assert body["errors"][0] == {
        "code": "RISCO",
        "title": "Validação síncrona dos sinais de risco impediram a ativação do consentimento.",
        "detail": body["errors"][0]["detail"],
    }
    assert body["errors"][0]["detail"].startswith("ORIGEM_FIDO_INVALIDA: ")
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "NAO_INFORMADO"
    assert not EnrollmentConsentAuthorisation.objects.filter(consent_id=consent_id).exists()


def test_assertion_for_another_rp_id_is_refused(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id, rp_id="other.example.com")
    _assertion_refused(v2, v4, consent_id, enrolled, assertion, check="RP_ID_HASH_INVALIDO")


def test_failed_assertion_consumes_the_challenge_and_ends_the_consent(
    v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str
) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id, rp_id="other.example.com")
    response, _ = v2.authorise(consent_id, enrolled, assertion)
    assert response.status_code == 422
    assert FidoChallenge.objects.get(consent_id=consent_id).used_at is not None
    # a correct assertion over the same challenge finds the consent already REJECTED
    good = v2.device.get({"challenge": assertion_challenge(assertion), "rpId": v2.rp_id}, origin=v2.origin)
    response, body = v2.authorise(consent_id, enrolled, good)
    assert response.status_code == 422
    assert _code(body) == "STATUS_CONSENTIMENTO_INVALIDO"
    assert v4.get_consent(consent_id)["status"] == "REJECTED"


def assertion_challenge(assertion: dict) -> str:
    import json

    from tests.support.fido_authenticator import unb64url

    return str(json.loads(unb64url(assertion["response"]["clientDataJSON"]))["challenge"])


def test_assertion_replayed_after_success_is_refused(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id)
    response, _ = v2.authorise(consent_id, enrolled, assertion)
    assert response.status_code == 204
    other_consent = v4.create_consent(consent_data())
    v2.sign_options(enrolled, other_consent)
    # the same signed assertion again, for another consent: its challenge is not that consent's
    _assertion_refused(v2, v4, other_consent, enrolled, assertion, check="CHALLENGE_INVALIDO")


def test_assertion_with_an_expired_challenge_is_challenge_invalido(
    v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str
) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id)
    FidoChallenge.objects.filter(consent_id=consent_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _assertion_refused(v2, v4, consent_id, enrolled, assertion, check="CHALLENGE_INVALIDO")


def test_assertion_signed_by_another_key_is_refused(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id, key=ec.generate_private_key(ec.SECP256R1()))
    _assertion_refused(v2, v4, consent_id, enrolled, assertion, check="PUBLIC_KEY_INVALIDA")


def test_assertion_of_another_enrollments_credential_is_refused(
    v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str
) -> None:
    # a second device enrolled for the same customer: its credential is not this enrollment's
    other = EnrollmentsV2(tpp=v2.tpp, token=v2.token, device=SoftAuthenticator())
    other.authorised()
    consent_id = v4.create_consent(consent_data())
    response, options = v2.sign_options(enrolled, consent_id)
    assertion = other.device.get(options["data"], origin=v2.origin)
    _assertion_refused(v2, v4, consent_id, enrolled, assertion, check="PUBLIC_KEY_INVALIDA")


def test_signature_counter_regression_is_refused(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    first = v4.create_consent(consent_data())
    response, _ = v2.authorise(first, enrolled, v2.sign(enrolled, first, sign_count=5))
    assert response.status_code == 204
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id, sign_count=3)  # a cloned authenticator lags behind
    _assertion_refused(v2, v4, consent_id, enrolled, assertion, check="PUBLIC_KEY_INVALIDA")
    assert FidoCredential.objects.get(enrollment__enrollment_id=enrolled).sign_count == 5


def test_revoked_enrollment_cannot_sign_nor_authorise(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    assertion = v2.sign(enrolled, consent_id)
    response, _ = v2.patch(enrolled, {"reason": {"revocationReason": "REVOGADO_MANUALMENTE"}})
    assert response.status_code == 204

    consent = _authorise_refused(v2, v4, consent_id, enrolled, assertion, status=422, code="STATUS_VINCULO_INVALIDO")
    # authorizeConsent (line 517): every 422 leaves the payment consent REJECTED, this one too
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "NAO_INFORMADO"
    response, body = v2.sign_options(enrolled, consent_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"


def test_an_enrollment_not_yet_authorised_rejects_the_consent(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    waiting = v2.awaiting_enrollment()
    consent_id = v4.create_consent(consent_data())
    unsigned = {
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"clientDataJSON": "AAAA", "authenticatorData": "AAAA", "signature": "AAAA", "userHandle": "AAAA"},
    }

    consent = _authorise_refused(v2, v4, consent_id, waiting, unsigned, status=422, code="STATUS_VINCULO_INVALIDO")

    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "NAO_INFORMADO"


def test_consent_of_another_account_is_rejected(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    savings = {**own_account(), "number": "10000002", "accountType": "SVGS"}
    consent_id = v4.create_consent(consent_data(debtor=savings))
    assertion = v2.sign(enrolled, consent_id)
    consent = _authorise_refused(
        v2, v4, consent_id, enrolled, assertion, status=422, code="CONTA_DEBITO_DIVERGENTE_CONSENTIMENTO_VINCULO"
    )
    # authorizeConsent: the consent is rejected with CONTA_NAO_PERMITE_PAGAMENTO
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "CONTA_NAO_PERMITE_PAGAMENTO"


def test_consent_not_awaiting_authorisation_is_status_consentimento_invalido(
    v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str
) -> None:
    consent_id = v4.authorised_consent(consent_data(), debtor=own_account())
    response, body = v2.sign_options(enrolled, consent_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_CONSENTIMENTO_INVALIDO"


def test_sign_options_for_another_rp_is_rp_invalida(v2: EnrollmentsV2, v4: PaymentsV4, enrolled: str) -> None:
    consent_id = v4.create_consent(consent_data())
    response, body = v2.sign_options(enrolled, consent_id, rp="other.example.com")
    assert response.status_code == 422
    assert _code(body) == "RP_INVALIDA"


def test_limits_are_not_checked_at_authorisation(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    # authorizeConsent: "Os limites relacionados ao vínculo devem ser validados apenas em momento de liquidação do
    # pagamento" (enrollments-2.1.0.yml line 520); tests/payments/test_fido_flow_payments.py checks them there
    enrollment_id = v2.authorised(transaction_limit="100.00", daily_limit="150.00")
    consent_id = v4.create_consent(consent_data(amount="200.00"))
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
    assert response.status_code == 204, body
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"


def test_mobile_device_without_its_mandatory_signals_is_refused(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(platform="ANDROID")
    consent_id = v4.create_consent(consent_data())
    signals = {k: v for k, v in risk_signals().items() if k != "isRootedDevice"}
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id), signals=signals)
    assert response.status_code == 422
    assert _code(body) == "FALTAM_SINAIS_OBRIGATORIOS_DA_PLATAFORMA"
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] == "NAO_INFORMADO"

    # the same device with every signal authorises
    consent_id = v4.create_consent(consent_data())
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
    assert response.status_code == 204, body


def test_payment_the_bank_refuses_rejects_the_consent(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised(transaction_limit="99999999.00", daily_limit=None)
    consent_id = v4.create_consent(consent_data(amount="20000000.00"))  # above Ana's balance and Pix limit
    consent = _authorise_refused(
        v2,
        v4,
        consent_id,
        enrollment_id,
        v2.sign(enrollment_id, consent_id),
        status=422,
        code="STATUS_CONSENTIMENTO_INVALIDO",
    )
    assert consent["status"] == "REJECTED"
    assert consent["rejectionReason"]["code"] in {"SALDO_INSUFICIENTE", "VALOR_ACIMA_LIMITE"}
