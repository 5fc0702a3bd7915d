"""The refund capability: a Pix devolução sent by the receiving merchant's own bank (its PSP), not an Open Finance
payment. The Opus connector contract has no route for it, so it is a capability of its own, chosen by
``settings.OPUSOF_REFUND_CONNECTOR`` (environment ``OPUSOF_CONNECTOR_REFUND``): the sandbox bank here
(``connectors.sandbox.refunds.SandboxRefunds``, where the demo merchant's account is), the merchant's PSP in
production (docs/merchant.md "Refunds").

Words and statuses follow the Banco Central's Pix API (``PUT /pix/{e2eid}/devolucao/{id}``, schema Devolucao):
the refund is named by the id the caller chose (``id``, the dedup key: a second call with it answers the first
refund and never moves money twice), and is ``EM_PROCESSAMENTO``, ``DEVOLVIDO`` or ``NAO_REALIZADO``. Arguments
are plain values so a caller that may not import this package (the merchant layer, which names the
implementation only in settings) can call it.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class PixRefundStatus(StrEnum):
    """Devolucao.status of the Banco Central's Pix API."""

    EM_PROCESSAMENTO = "EM_PROCESSAMENTO"
    DEVOLVIDO = "DEVOLVIDO"
    NAO_REALIZADO = "NAO_REALIZADO"


@dataclass(frozen=True)
class PixRefundResult:
    """One devolução as the bank holds it; ``reason`` (Devolucao.motivo) says why it was NAO_REALIZADO."""

    refund_id: str
    end_to_end_id: str
    amount: Decimal
    status: PixRefundStatus
    reason: str = ""
    return_id: str = ""  # the devolução's own identifier in the SPI (rtrId), once the bank sent it
    settled_at: dt.datetime | None = None


@runtime_checkable
class SendPixRefund(Protocol):
    def send_pix_refund(
        self, *, refund_id: str, end_to_end_id: str, amount: Decimal, description: str = ""
    ) -> PixRefundResult:
        """Returns ``amount`` of the settled Pix ``end_to_end_id`` to its payer. Idempotent on ``refund_id``. A
        refusal is a NAO_REALIZADO result (kept by the bank, so asking again answers the same); ConnectorUnavailable
        (connectors.interfaces) when the bank cannot be reached, ConnectorOutcomeUnknown when the answer was lost:
        then the caller asks ``get_pix_refund``."""
        ...

    def get_pix_refund(self, *, refund_id: str, end_to_end_id: str) -> PixRefundResult | None:
        """The devolução ``refund_id`` of ``end_to_end_id``; None when the bank never received it (the caller may
        send it again with the same id)."""
        ...
