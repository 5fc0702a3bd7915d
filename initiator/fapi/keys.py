"""Our signing key as an initiator (request JWS, client assertions, request objects), kept in var/ locally."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from jwt.algorithms import RSAAlgorithm

from opusof.keys import jwk_thumbprint, load_or_create_private_key


@lru_cache(maxsize=4)
def _key(path: str) -> rsa.RSAPrivateKey:
    return load_or_create_private_key(Path(path), autocreate=True)


def signing_key() -> rsa.RSAPrivateKey:
    return _key(settings.INITIATOR_SIGNING_KEY_PATH)


def _public(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}


def signing_kid() -> str:
    return jwk_thumbprint(_public(signing_key()))


def public_jwks() -> dict[str, Any]:
    """What the Directory publishes for our software (inline in the stand-in Directory's software statement)."""
    return {"keys": [{**_public(signing_key()), "kid": signing_kid(), "use": "sig", "alg": "PS256"}]}
