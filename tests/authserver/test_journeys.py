"""The consent-journey registry covers every kind of authorisation a pushed request may name."""

import pytest

from opusof.authserver.errors import OAuthError
from opusof.authserver.journeys import JOURNEYS
from opusof.authserver.services import DYNAMIC_SCOPES, journey_for


def test_every_dynamic_scope_has_a_journey_and_a_template() -> None:
    assert set(JOURNEYS) == set(DYNAMIC_SCOPES)
    assert {journey.kind for journey in JOURNEYS.values()} == set(JOURNEYS)
    assert len({journey.review_template for journey in JOURNEYS.values()}) == len(JOURNEYS)


@pytest.mark.parametrize(
    ("scope", "kind"),
    [
        ("openid payments consent:urn:bank:1", "consent"),
        ("openid recurring-payments recurring-consent:urn:bank:1", "recurring-consent"),
        ("openid payments nrp-consents enrollment:urn:bank:1", "enrollment"),
    ],
)
def test_the_scope_picks_the_journey(scope: str, kind: str) -> None:
    assert journey_for(scope.split()) is JOURNEYS[kind]


def test_two_targets_in_one_scope_pick_none() -> None:
    with pytest.raises(OAuthError):
        journey_for(["openid", "payments", "consent:urn:bank:1", "enrollment:urn:bank:2"])
