"""Who may log in on the consent pages. The authenticator is pluggable (settings.OPUSOF_CUSTOMER_AUTHENTICATOR, a
dotted path to ``(cpf, password) -> Customer | None``); the default asks the sandbox bank."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from opusof.authserver.throttling import cpf_digits


@dataclass(frozen=True)
class Customer:
    document: str  # CPF, 11 digits
    name: str


Authenticator = Callable[[str, str], Customer | None]


def sandbox_authenticate(cpf: str, password: str) -> Customer | None:
    """The sandbox bank's individual customers (connectors/sandbox/demo.py: CPF + ``demo1234``)."""
    from connectors.sandbox import SandboxBank

    customer = SandboxBank().authenticate(cpf, password)
    return Customer(document=customer.document, name=customer.name) if customer is not None else None


def customer_authenticate(cpf: str, password: str) -> Customer | None:
    """The customer with these credentials, by the configured authenticator; None when they do not match."""
    digits = cpf_digits(cpf)
    if len(digits) != 11 or not password:
        return None
    authenticator: Authenticator = import_string(settings.OPUSOF_CUSTOMER_AUTHENTICATOR)
    return authenticator(digits, password)
