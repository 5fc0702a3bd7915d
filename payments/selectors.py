"""Reads on Pix payments, always scoped: by the calling TPP on the API, by the customer on the bank's pages."""

from django.db.models import QuerySet

from consents.models import PaymentConsent
from opusof.models import TppClient
from payments.errors import PaymentNotFound
from payments.models import PixPayment


def payment_get_for_client(*, client: TppClient, payment_id: str) -> PixPayment:
    try:
        payment = PixPayment.objects.visible().select_related("consent").get(payment_id=payment_id, client=client)
    except PixPayment.DoesNotExist as exc:
        raise PaymentNotFound(f"Pagamento {payment_id} não encontrado.") from exc
    return payment


# --- the bank's own pages (consent management area) -----------------------------------------------------------------


def payments_of_consents(consents: list[PaymentConsent]) -> QuerySet[PixPayment]:
    """The payments made under ``consents`` (the customer's own), by date."""
    return PixPayment.objects.visible().filter(consent__in=consents).order_by("scheduled_date", "created_at")


def payment_get_for_customer(*, payment_id: str, customer_document: str) -> PixPayment:
    """A payment whose consent names the customer as logged user; anyone else's is not found."""
    payment = (
        PixPayment.objects.visible()
        .select_related("consent", "client")
        .filter(payment_id=payment_id, consent__logged_user_document=customer_document)
        .first()
    )
    if payment is None:
        raise PaymentNotFound(f"Pagamento {payment_id} não encontrado.")
    return payment
