"""Reads on payment consents, always scoped to the calling TPP."""

from consents.errors import ConsentNotFound
from consents.models import PaymentConsent
from consents.services import consent_refresh
from opusof.models import TppClient


def consent_get_for_client(*, client: TppClient, consent_id: str) -> PaymentConsent:
    """A TPP sees only its own consents; someone else's is indistinguishable from a missing one."""
    try:
        consent = PaymentConsent.objects.get(consent_id=consent_id, client=client)
    except PaymentConsent.DoesNotExist as exc:
        raise ConsentNotFound(f"Consentimento {consent_id} não encontrado.") from exc
    return consent_refresh(consent=consent)
