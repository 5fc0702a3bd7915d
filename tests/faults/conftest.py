"""The fault-injection tests run opusof against the reference bank through the HTTP connector."""

from tests.connectors.http.conftest import http_connectors, reference_bank, reference_bank_options

__all__ = ["http_connectors", "reference_bank", "reference_bank_options"]
