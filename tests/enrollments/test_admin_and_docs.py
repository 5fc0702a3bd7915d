"""Staff see enrollments with their history and revoke them through the service; /api/schema documents every
operation of enrollments-2.1.0.yml."""

import yaml
from django.test import Client

from enrollments.models import Enrollment
from tests.support.enrollments_v2 import EnrollmentsV2

OPERATIONS = {
    "postEnrollments",
    "getEnrollment",
    "deleteEnrollment",
    "riskSignals",
    "enrollmentCreateFidoRegistrationOptions",
    "enrollmentRegisterFidoCredential",
    "enrollmentCreateFidoSigningOptions",
    "authorizeConsent",
}


def test_schema_documents_every_enrollments_v2_operation(client: Client, db: None) -> None:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = {
        op["operationId"]: (path, method)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/open-banking/enrollments/v2/")
    }
    assert set(operations) == OPERATIONS
    assert operations["authorizeConsent"] == ("/open-banking/enrollments/v2/consents/{consent_id}/authorise", "post")


def test_admin_lists_shows_history_and_revokes(v2: EnrollmentsV2, admin_client: Client) -> None:
    authorised = v2.authorised()
    waiting = v2.create()

    listing = admin_client.get("/admin/enrollments/enrollment/")
    assert listing.status_code == 200
    assert authorised.encode() in listing.content and waiting.encode() in listing.content

    pk = Enrollment.objects.get(enrollment_id=authorised).pk
    detail = admin_client.get(f"/admin/enrollments/enrollment/{pk}/change/")
    assert detail.status_code == 200
    assert b"AWAITING_ACCOUNT_HOLDER_VALIDATION" in detail.content  # the history inline

    response = admin_client.post(
        "/admin/enrollments/enrollment/",
        {
            "action": "revoke_or_reject",
            "_selected_action": [str(e.pk) for e in Enrollment.objects.all()],
        },
    )
    assert response.status_code == 302

    assert v2.get(authorised)["cancellation"]["reason"] == {"revocationReason": "REVOGADO_SEGURANCA_INTERNA"}
    assert v2.get(authorised)["status"] == "REVOKED"
    assert v2.get(waiting)["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_SEGURANCA_INTERNA"}
    assert v2.get(waiting)["cancellation"]["cancelledFrom"] == "DETENTORA"
    assert Enrollment.objects.get(enrollment_id=authorised).history.last().actor.startswith("staff:")  # type: ignore[union-attr]
