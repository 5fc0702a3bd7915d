"""What the bank's customer pages call: list the customer's enrollments and cancel one."""

import pytest

from enrollments.errors import EnrollmentNotFound
from enrollments.selectors import enrollments_for_customer
from enrollments.services import enrollment_cancel_by_customer
from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.payment_bodies import ANA_CPF, BRUNO_CPF


def test_customer_lists_and_revokes_an_enrollment(v2: EnrollmentsV2) -> None:
    authorised = v2.authorised()
    waiting = v2.create()

    assert [e.enrollment_id for e in enrollments_for_customer(document=ANA_CPF)] == [waiting, authorised]
    assert enrollments_for_customer(document=BRUNO_CPF) == []

    enrollment_cancel_by_customer(enrollment_id=authorised, document=ANA_CPF)
    enrollment_cancel_by_customer(enrollment_id=waiting, document=ANA_CPF)

    revoked = v2.get(authorised)
    assert revoked["status"] == "REVOKED"
    assert revoked["cancellation"]["reason"] == {"revocationReason": "REVOGADO_MANUALMENTE"}
    assert revoked["cancellation"]["cancelledFrom"] == "DETENTORA"
    assert revoked["cancellation"]["cancelledBy"]["document"] == {"identification": ANA_CPF, "rel": "CPF"}
    assert v2.get(waiting)["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_MANUALMENTE"}


def test_customer_cannot_cancel_someone_elses_enrollment(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.authorised()
    with pytest.raises(EnrollmentNotFound):
        enrollment_cancel_by_customer(enrollment_id=enrollment_id, document=BRUNO_CPF)
    assert v2.get(enrollment_id)["status"] == "AUTHORISED"
