"""authorizeConsent with multiple approvers: "Para pagamentos com múltiplas alçadas aprovadoras, o consentimento de
pagamento ficará em PARTIALLY_ACCEPTED até que todos tenham autorizado" (enrollments-2.1.0.yml). The bank's rule
(settings.OPUSOF_BUSINESS_APPROVERS per CNPJ) is the one the redirect journey uses; the remaining approvers approve
at the bank (consents.services.consent_approve, "Minhas autorizações")."""

from decimal import Decimal

from consents.services import consent_approve
from enrollments.models import EnrollmentConsentAuthorisation
from enrollments.services import enrollment_authorise
from opusof.ofb import account_from_wire
from tests.support.enrollments_v2 import EnrollmentsV2, enrollment_data
from tests.support.payment_bodies import ANA_CPF, BRUNO_CPF, PADARIA_CNPJ, consent_data, own, payment_item
from tests.support.payments_v4 import PaymentsV4, error_codes

PADARIA_ACCOUNT = own({"ispb": None, "issuer": "0001", "number": "30000001", "accountType": "CACC"})


def _padaria_enrollment(v2: EnrollmentsV2) -> str:
    """Bruno's device enrolled to pay from the Padaria's account."""
    data = enrollment_data(debtor=PADARIA_ACCOUNT, cpf=BRUNO_CPF)
    data["businessEntity"] = {"document": {"identification": PADARIA_CNPJ, "rel": "CNPJ"}}
    enrollment_id = v2.create(data)
    response, _ = v2.post_risk_signals(enrollment_id)
    assert response.status_code == 204
    enrollment_authorise(
        enrollment_id=enrollment_id,
        debtor_account=account_from_wire(PADARIA_ACCOUNT),
        actor="customer:test",
        transaction_limit=Decimal("1000.00"),
        customer_document=BRUNO_CPF,
        customer_name="Bruno Lima",
    )
    response, options = v2.registration_options(enrollment_id)
    assert response.status_code == 201, options
    response, body = v2.register(enrollment_id, v2.device.create(options["data"], origin=v2.origin))
    assert response.status_code == 204, body
    return enrollment_id


def test_business_account_needing_two_approvers_is_partially_accepted(
    v2: EnrollmentsV2, v4: PaymentsV4, settings
) -> None:
    # given the Padaria needs two approvers
    settings.OPUSOF_BUSINESS_APPROVERS = {PADARIA_CNPJ: 2}
    enrollment_id = _padaria_enrollment(v2)
    data = consent_data(amount="50.00", business=PADARIA_CNPJ, logged_cpf=BRUNO_CPF)
    consent_id = v4.create_consent(data)

    # when Bruno's device authorises the consent
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))

    # then it waits for the second approver, with the enrollment's account as debtor
    assert response.status_code == 204, body
    consent = v4.get_consent(consent_id)
    assert consent["status"] == "PARTIALLY_ACCEPTED"
    assert consent["debtorAccount"]["number"] == "30000001"
    assert EnrollmentConsentAuthorisation.objects.filter(consent_id=consent_id).exists()
    # and a payment now is CONSENTIMENTO_PENDENTE_AUTORIZACAO (payments v4 §2.2.2.11), the consent kept
    item = payment_item(data, authorisationFlow="FIDO_FLOW", consentId=consent_id)
    token = v2.journey_token(enrollment_id)
    response, body = v4.post_payments(consent_id, [item], token=token)
    assert response.status_code == 422, body
    assert error_codes(body) == ["CONSENTIMENTO_PENDENTE_AUTORIZACAO"]
    assert v4.get_consent(consent_id)["status"] == "PARTIALLY_ACCEPTED"

    # when Ana, the other approver, approves at the bank, the payment goes through with the enrollment's token
    consent_approve(consent_id=consent_id, actor=f"customer:{ANA_CPF}")
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
    response, body = v4.post_payments(consent_id, [item], token=token)
    assert response.status_code == 201, body
    assert body["data"][0]["status"] == "ACSC"


def test_single_approver_business_account_is_authorised(v2: EnrollmentsV2, v4: PaymentsV4, settings) -> None:
    settings.OPUSOF_BUSINESS_APPROVERS = {}
    enrollment_id = _padaria_enrollment(v2)
    consent_id = v4.create_consent(consent_data(amount="50.00", business=PADARIA_CNPJ, logged_cpf=BRUNO_CPF))
    response, body = v2.authorise(consent_id, enrollment_id, v2.sign(enrollment_id, consent_id))
    assert response.status_code == 204, body
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
