"""Chooses the implementation of each connector capability from ``settings.OPUSOF_CONNECTORS``.

Instances are built once per process and shared: one class configured for several capabilities (the sandbox
bank for all five) is one instance. Changing the setting (``override_settings`` in tests) drops the cache.
"""

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from connectors.interfaces import (
    CancelPayment,
    DiscoverAccounts,
    GetPaymentStatus,
    InitiatePayment,
    ListBankPayments,
    ValidatePaymentData,
)

CAPABILITIES: dict[str, type] = {
    "validate_payment_data": ValidatePaymentData,
    "discover_accounts": DiscoverAccounts,
    "initiate_payment": InitiatePayment,
    "get_payment_status": GetPaymentStatus,
    "cancel_payment": CancelPayment,
}

_instances: dict[str, object] = {}
_lock = threading.Lock()


def _connector(capability: str) -> Any:
    try:
        path = settings.OPUSOF_CONNECTORS[capability]
    except (AttributeError, KeyError) as exc:
        raise ImproperlyConfigured(f"OPUSOF_CONNECTORS has no implementation for {capability!r}") from exc
    with _lock:
        instance = _instances.get(path)
        if instance is None:
            instance = _instances[path] = import_string(path)()
    protocol = CAPABILITIES[capability]
    if not isinstance(instance, protocol):
        raise ImproperlyConfigured(f"{path} does not implement {protocol.__name__} ({capability})")
    return instance


def payment_data_validator() -> ValidatePaymentData:
    """The bank's payment-data check (consent authorisation and the payment's DICT check)."""
    return _connector("validate_payment_data")


def account_discovery() -> DiscoverAccounts:
    """The bank's list of accounts a customer may pay from."""
    return _connector("discover_accounts")


def payment_initiator() -> InitiatePayment:
    """The bank's Pix payment initiation."""
    return _connector("initiate_payment")


def payment_status_reader() -> GetPaymentStatus:
    """The bank's payment status query."""
    return _connector("get_payment_status")


def payment_canceller() -> CancelPayment:
    """The bank's cancellation of a scheduled or pending payment."""
    return _connector("cancel_payment")


def bank_payment_lister() -> ListBankPayments:
    """The bank's list of its payments (reconciliation). Not one of the contract's capabilities, so a missing
    ``OPUSOF_CONNECTORS["list_bank_payments"]`` means the implementation that answers ``get_payment_status``: the
    bank whose statuses we read is the bank whose books we reconcile with."""
    path = settings.OPUSOF_CONNECTORS.get("list_bank_payments") or settings.OPUSOF_CONNECTORS.get("get_payment_status")
    if not path:
        raise ImproperlyConfigured("OPUSOF_CONNECTORS has no implementation for 'list_bank_payments'")
    with _lock:
        instance = _instances.get(path)
        if instance is None:
            instance = _instances[path] = import_string(path)()
    if not isinstance(instance, ListBankPayments):
        raise ImproperlyConfigured(f"{path} does not implement ListBankPayments (list_bank_payments)")
    return instance


def reset_connectors() -> None:
    """Forgets the built instances; the next accessor call reads the setting again."""
    with _lock:
        _instances.clear()


@receiver(setting_changed)
def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "OPUSOF_CONNECTORS":
        reset_connectors()
