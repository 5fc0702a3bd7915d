from typing import Any

import pytest

from tests.support.enrollments_v2 import EnrollmentsV2
from tests.support.tpp import TppActor


@pytest.fixture
def v2(tpp: TppActor, client_credentials_token: str, demo_bank: dict[str, Any]) -> EnrollmentsV2:
    """Enrollments v2 driven as ``tpp`` (redirect URI https://tpp-one.example.com/callback → origin and RP id)."""
    return EnrollmentsV2(tpp=tpp, token=client_credentials_token)
