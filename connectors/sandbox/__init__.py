"""The embedded sandbox bank: the default connector for local runs, demos and tests (all five capabilities)."""

from connectors.sandbox.bank import PixKeyEntry, SandboxBank
from connectors.sandbox.scenarios import is_consent_rejection_scenario, is_payment_rejection_scenario

__all__ = ["PixKeyEntry", "SandboxBank", "is_consent_rejection_scenario", "is_payment_rejection_scenario"]
