from decimal import Decimal

import pytest

from connectors.models import SandboxAccount, SandboxPixKey
from connectors.registry import reset_connectors
from connectors.sandbox import SandboxBank
from tests.factories.sandbox import (
    SandboxAccountFactory,
    SandboxBusinessFactory,
    SandboxCustomerFactory,
    SandboxPixKeyFactory,
)


@pytest.fixture(autouse=True)
def _fresh_registry():
    reset_connectors()
    yield
    reset_connectors()


@pytest.fixture
def bank() -> SandboxBank:
    return SandboxBank()


@pytest.fixture
def debtor(db) -> SandboxAccount:
    """An individual's account here with R$ 1,000.00 and default (high) limits."""
    return SandboxAccountFactory.create(balance=Decimal("1000.00"))


@pytest.fixture
def creditor(db) -> SandboxAccount:
    """A merchant's account at another ISPB, reached through an e-mail key."""
    account = SandboxAccountFactory.create(
        ispb="12345678", owner=SandboxBusinessFactory.create(), balance=Decimal("0.00")
    )
    SandboxPixKeyFactory.create(account=account, key="shop@example.com", key_type=SandboxPixKey.KeyType.EMAIL)
    return account


@pytest.fixture
def local_creditor(db) -> SandboxAccount:
    """Another individual's account here, reached through a phone key: payments to it are credited."""
    account = SandboxAccountFactory.create(owner=SandboxCustomerFactory.create(), balance=Decimal("0.00"))
    SandboxPixKeyFactory.create(account=account, key="+5511900000001", key_type=SandboxPixKey.KeyType.PHONE)
    return account
