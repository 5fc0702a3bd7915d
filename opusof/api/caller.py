"""Typed access to who is calling: BearerTokenAuthentication puts the TppClient and its AccessToken on the request."""

from typing import cast

from rest_framework.request import Request

from opusof.models import AccessToken, TppClient


def caller(request: Request) -> TppClient:
    return cast(TppClient, request.user)


def caller_token(request: Request) -> AccessToken:
    return cast(AccessToken, request.auth)


def caller_actor(request: Request) -> str:
    """How history rows name a TPP acting through the API."""
    return f"tpp:{caller(request).client_id}"
