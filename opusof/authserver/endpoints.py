"""Public URLs of the authorisation server. The issuer is OPUSOF_BASE_URL (what TPPs call through the proxy), never
the socket address, so ``aud`` checks and discovery agree whatever host served the request."""

from django.conf import settings

PATHS = {
    "authorize": "/auth/authorize",
    "par": "/auth/par",
    "token": "/auth/token",
    "revoke": "/auth/token/revoke",
    "introspect": "/auth/token/introspect",
    "jwks": "/auth/jwks",
    "userinfo": "/auth/userinfo",
    "register": "/auth/register",
    "discovery": "/.well-known/openid-configuration",
}


def issuer() -> str:
    return str(settings.OPUSOF_BASE_URL).rstrip("/")


def url(name: str) -> str:
    return issuer() + PATHS[name]
