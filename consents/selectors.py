"""Reads on payment consents, always scoped: by the calling TPP on the API, by the customer on the bank's pages."""

from django.db.models import QuerySet

from consents.errors import ConsentNotFound
from consents.models import ConsentStatus, PaymentConsent
from opusof.models import TppClient


def consent_get_for_client(*, client: TppClient, consent_id: str) -> PaymentConsent:
    """A TPP sees only its own consents; someone else's is indistinguishable from a missing one. As stored: a
    caller that answers with it applies a due expiry first (``consents.expiry.consent_refresh``)."""
    try:
        consent = PaymentConsent.objects.get(consent_id=consent_id, client=client)
    except PaymentConsent.DoesNotExist as exc:
        raise ConsentNotFound(f"Consentimento {consent_id} não encontrado.") from exc
    return consent


# --- the bank's own pages (consent management area) -----------------------------------------------------------------


def consents_for_customer(*, customer_document: str, limit: int = 50) -> list[PaymentConsent]:
    """The consents naming the customer as logged user, newest first."""
    rows = (
        PaymentConsent.objects.select_related("client")
        .filter(logged_user_document=customer_document)
        .order_by("-created_at")[:limit]
    )
    return list(rows)


def consents_awaiting_co_approval(*, customer_document: str, limit: int = 50) -> QuerySet[PaymentConsent]:
    """PARTIALLY_ACCEPTED business consents the customer has not approved yet (payments v4 "Aprovações de múltipla
    alçada"); whether they may approve for that business is the bank's account discovery to say."""
    return (
        PaymentConsent.objects.select_related("client")
        .filter(status=ConsentStatus.PARTIALLY_ACCEPTED)
        .exclude(business_entity_document="")
        .exclude(history__actor=f"customer:{customer_document}")
        .order_by("created_at")[:limit]
    )
