"""The same signed assertion sent many times at once (a replay race, real PostgreSQL): one authorisation."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from enrollments.models import EnrollmentConsentAuthorisation
from tests.support.enrollments_v2 import EnrollmentsV2, risk_signals
from tests.support.payment_bodies import consent_data
from tests.support.payments_v4 import PaymentsV4
from tests.support.spec import assert_response_matches_spec

PARALLEL = 12


@pytest.mark.django_db(transaction=True)
def test_parallel_replays_of_one_assertion_authorise_once(v2: EnrollmentsV2, v4: PaymentsV4) -> None:
    enrollment_id = v2.authorised()
    consent_id = v4.create_consent(consent_data(amount="10.00"))
    assertion = v2.sign(enrollment_id, consent_id)
    token = v2.journey_token(enrollment_id)
    body = {"data": {"enrollmentId": enrollment_id, "riskSignals": risk_signals(), "fidoAssertion": assertion}}

    def call(_: int) -> int:
        v2.tpp.api = APIClient()
        try:
            response = v2.tpp.post(f"/open-banking/enrollments/v2/consents/{consent_id}/authorise", body, token=token)
            assert_response_matches_spec(
                response, spec="enrollments-2.1.0.yml", path="/consents/{consentId}/authorise", method="post"
            )
            return response.status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        statuses = list(pool.map(call, range(PARALLEL)))

    assert statuses.count(204) == 1
    assert set(statuses) <= {204, 401, 422}
    assert EnrollmentConsentAuthorisation.objects.filter(consent_id=consent_id).count() == 1
    assert v4.get_consent(consent_id)["status"] == "AUTHORISED"
