"""Reads on Pix payments, always scoped to the calling TPP."""

from opusof.models import TppClient
from payments.batches import payment_refresh
from payments.errors import PaymentNotFound
from payments.models import PixPayment


def payment_get_for_client(*, client: TppClient, payment_id: str) -> PixPayment:
    try:
        payment = PixPayment.objects.visible().select_related("consent").get(payment_id=payment_id, client=client)
    except PixPayment.DoesNotExist as exc:
        raise PaymentNotFound(f"Pagamento {payment_id} não encontrado.") from exc
    return payment_refresh(payment=payment)
