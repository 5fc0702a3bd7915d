"""Reads on enrollments, always scoped to the calling TPP."""

from enrollments.errors import EnrollmentNotFound
from enrollments.models import Enrollment
from opusof.models import TppClient


def enrollment_get_for_client(*, client: TppClient, enrollment_id: str) -> Enrollment:
    """A TPP sees only its own enrollments; someone else's is indistinguishable from a missing one. As stored
    (``enrollments.expiry.enrollment_refresh`` applies a due expiry)."""
    try:
        enrollment = Enrollment.objects.get(enrollment_id=enrollment_id, client=client)
    except Enrollment.DoesNotExist as exc:
        raise EnrollmentNotFound(f"Vínculo de conta {enrollment_id} não encontrado.") from exc
    return enrollment


def enrollments_for_customer(*, document: str) -> list[Enrollment]:
    """The customer's enrollments as the bank's pages show them (logged user or the business they act for),
    newest first."""
    enrollments = Enrollment.objects.filter(logged_user_document=document) | Enrollment.objects.filter(
        business_entity_document=document
    )
    return list(enrollments.select_related("client").order_by("-created_at"))
