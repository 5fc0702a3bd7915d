"""The merchant layer's side of the refund connector (connectors.refunds.SendPixRefund).

A devolução is sent by the merchant's own bank, not through Open Finance. The merchant layer reaches payers' banks
only through the initiator gateway and never imports ``connectors`` (import contracts in pyproject.toml), so the
implementation is named by its dotted path in ``settings.OPUSOF_REFUND_CONNECTOR``, loaded at run time like any
other Django setting, and spoken to through the structural protocol below: the same method names, plain arguments
in, and an answer read by attribute (``status`` in the Pix API's words).
"""

import threading
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


class RefundAnswer(Protocol):
    """What the bank says of one devolução (connectors.refunds.PixRefundResult)."""

    @property
    def status(self) -> str: ...  # EM_PROCESSAMENTO, DEVOLVIDO or NAO_REALIZADO

    @property
    def reason(self) -> str: ...

    @property
    def return_id(self) -> str: ...


@runtime_checkable
class RefundBank(Protocol):
    def send_pix_refund(
        self, *, refund_id: str, end_to_end_id: str, amount: Decimal, description: str = ""
    ) -> RefundAnswer: ...

    def get_pix_refund(self, *, refund_id: str, end_to_end_id: str) -> RefundAnswer | None: ...


_instances: dict[str, RefundBank] = {}
_lock = threading.Lock()


def refund_bank() -> RefundBank | None:
    """The configured refund connector, built once per process; None when refunds are not configured."""
    path = str(getattr(settings, "OPUSOF_REFUND_CONNECTOR", "") or "")
    if not path:
        return None
    with _lock:
        instance = _instances.get(path)
        if instance is None:
            built: Any = import_string(path)()
            if not isinstance(built, RefundBank):
                raise ImproperlyConfigured(f"{path} does not implement send_pix_refund / get_pix_refund")
            instance = _instances[path] = built
    return instance


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "OPUSOF_REFUND_CONNECTOR":
        with _lock:
            _instances.clear()
