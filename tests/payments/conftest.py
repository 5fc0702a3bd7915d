import pytest

from connectors.registry import reset_connectors
from connectors.sandbox.demo import load_sandbox_demo
from tests.payments.v4 import PaymentsV4


@pytest.fixture
def demo_bank(db):
    reset_connectors()
    return load_sandbox_demo()


@pytest.fixture
def v4(tpp, client_credentials_token, demo_bank) -> PaymentsV4:
    return PaymentsV4(tpp=tpp, token=client_credentials_token)
