"""The API dialects' renderers, by the name a plan records (``Plan.dialect``): how a webhook reads and how it is
secured in each. Renderers are pure (no I/O), so the domain may call them inside its transactions."""

import hashlib
import hmac
from typing import Any, Protocol

from merchant.models import Merchant, Parcel, Plan, Refund


class Renderer(Protocol):
    def webhook_bodies(self, plan: Plan, parcel: Parcel | None, previous: str) -> list[dict[str, Any]]:
        """The webhooks one status change announces (none when the dialect does not tell the statuses apart)."""
        ...

    def refund_webhook_body(self, refund: Refund, previous: str) -> dict[str, Any] | None: ...

    def webhook_headers(self, merchant: Merchant, raw: bytes) -> dict[str, str]: ...

    def webhook_mtls(self, merchant: Merchant) -> bool:
        """Delivered over mutual TLS (our client certificate, the merchant's server verified)."""
        ...

    def webhook_retry(self, attempt: int) -> float | None:
        """Seconds before the next attempt after ``attempt`` failed ones; None: give up."""
        ...


def hmac_sha256(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def renderer(dialect: str) -> Renderer:
    from merchant.belvo import render as belvo
    from merchant.efi import render as efi

    renderers: dict[str, Renderer] = {"efi": efi.EFI, "belvo": belvo.BELVO}
    return renderers[dialect]
