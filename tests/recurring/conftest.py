"""Fixtures of the automatic payments v2 tests."""

from typing import Any

import pytest

from opusof.tokens import access_token_mint
from tests.support.automatic_payments_v2 import AutomaticPaymentsV2
from tests.support.tpp import TppActor


@pytest.fixture
def ap2(tpp: TppActor, demo_bank: dict[str, Any]) -> AutomaticPaymentsV2:
    """Automatic payments v2 driven as ``tpp`` (client_credentials, scope recurring-payments)."""
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["recurring-payments"])
    return AutomaticPaymentsV2(tpp=tpp, token=token)
