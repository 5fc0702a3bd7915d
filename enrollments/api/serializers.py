"""Wire shapes of enrollments v2 (ResponseCreateEnrollment / ResponseEnrollment); request bodies are checked by
opusof.specs against the regulator's schemas."""

from typing import Any

from enrollments.models import Enrollment, EnrollmentRevocationReason, EnrollmentStatus
from opusof.ofb import account_to_wire, money
from opusof.timeutil import rfc3339


def enrollment_to_wire(enrollment: Enrollment) -> dict[str, Any]:
    request = enrollment.request_data
    data: dict[str, Any] = {
        "enrollmentId": enrollment.enrollment_id,
        "creationDateTime": rfc3339(enrollment.created_at),
        "status": enrollment.status,
        "statusUpdateDateTime": rfc3339(enrollment.status_updated_at),
        "permissions": list(enrollment.permissions),
        "loggedUser": request["loggedUser"],
    }
    # expirationDateTime is omitted: our enrollments have no fixed validity ("prazo indeterminado").
    if "businessEntity" in request:
        data["businessEntity"] = request["businessEntity"]
    if (debtor := enrollment.debtor_account) is not None:
        data["debtorAccount"] = account_to_wire(debtor)
    if enrollment.enrollment_name:
        data["enrollmentName"] = enrollment.enrollment_name
    if enrollment.transaction_limit is not None:
        data["transactionLimit"] = money(enrollment.transaction_limit)
    if enrollment.daily_limit is not None:
        data["dailyLimit"] = money(enrollment.daily_limit)
    if enrollment.status in (EnrollmentStatus.REJECTED, EnrollmentStatus.REVOKED):
        revoked = enrollment.cancellation_reason in EnrollmentRevocationReason.values
        cancellation: dict[str, Any] = {
            "cancelledFrom": enrollment.cancelled_from,
            "reason": {"revocationReason" if revoked else "rejectionReason": enrollment.cancellation_reason},
        }
        if enrollment.cancelled_by_document:
            cancellation["cancelledBy"] = {
                "document": {"identification": enrollment.cancelled_by_document, "rel": enrollment.cancelled_by_rel}
            }
        if enrollment.additional_information:
            cancellation["additionalInformation"] = enrollment.additional_information
        if enrollment.cancelled_at is not None:
            cancellation["rejectedAt"] = rfc3339(enrollment.cancelled_at)
        data["cancellation"] = cancellation
    return data
