"""Content negotiation that honours ``q=0`` (RFC 9110 §12.5.1: "not acceptable"). DRF orders the Accept header's
media ranges by specificity and ignores their weights, so ``Accept: application/jwt;q=0`` was answered in JWT."""

from collections.abc import Iterable

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.utils.mediatypes import _MediaType


def _weight(media_range: _MediaType) -> float:
    try:
        return float(media_range.params.get("q", "1"))
    except ValueError:
        return 1.0


class WeightedContentNegotiation(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        ranges = [_MediaType(token) for token in self.get_accept_list(request)]
        acceptable = []
        for renderer in renderers:
            media_type = _MediaType(renderer.media_type)
            matching = [media_range for media_range in ranges if media_type.match(media_range)]
            # The most specific range that matches decides, whatever broader ranges say (RFC 9110 §12.5.1).
            if not matching or _weight(max(matching, key=lambda media_range: media_range.precedence)) > 0:
                acceptable.append(renderer)
        if not acceptable:
            raise NotAcceptable(available_renderers=renderers)
        selected: tuple[BaseRenderer, str] = super().select_renderer(request, acceptable, format_suffix)
        return selected
