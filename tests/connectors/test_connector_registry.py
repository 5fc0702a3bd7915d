import pytest
from django.core.exceptions import ImproperlyConfigured

from connectors import registry
from connectors.interfaces import PaymentStatusResult
from connectors.sandbox import SandboxBank

SANDBOX = "connectors.sandbox.SandboxBank"


class OtherBank:
    """A second implementation of one capability, as a bank plugging its own status route would."""

    def get_payment_status(self, *, payment_id: str, end_to_end_id: str) -> PaymentStatusResult:
        raise NotImplementedError


def _all(path: str) -> dict[str, str]:
    return dict.fromkeys(registry.CAPABILITIES, path)


def test_default_settings_use_one_sandbox_bank_for_all_capabilities():
    instances = [
        registry.payment_data_validator(),
        registry.account_discovery(),
        registry.payment_initiator(),
        registry.payment_status_reader(),
        registry.payment_canceller(),
    ]
    assert all(type(instance) is SandboxBank for instance in instances)
    assert len({id(instance) for instance in instances}) == 1


def test_instances_are_cached_until_reset():
    first = registry.payment_initiator()
    assert registry.payment_initiator() is first
    registry.reset_connectors()
    assert registry.payment_initiator() is not first


def test_overriding_the_setting_picks_another_class(settings):
    sandbox = registry.payment_status_reader()
    settings.OPUSOF_CONNECTORS = {**_all(SANDBOX), "get_payment_status": f"{__name__}.OtherBank"}
    reader = registry.payment_status_reader()
    assert type(reader).__name__ == "OtherBank"
    assert reader is not sandbox
    assert type(registry.payment_initiator()) is SandboxBank


def test_a_class_missing_the_capability_is_a_configuration_error(settings):
    settings.OPUSOF_CONNECTORS = {**_all(SANDBOX), "initiate_payment": f"{__name__}.OtherBank"}
    with pytest.raises(ImproperlyConfigured, match="InitiatePayment"):
        registry.payment_initiator()


def test_a_missing_capability_is_a_configuration_error(settings):
    settings.OPUSOF_CONNECTORS = {"initiate_payment": SANDBOX}
    with pytest.raises(ImproperlyConfigured, match="cancel_payment"):
        registry.payment_canceller()
