"""Holder tokens at rest: encrypted with Fernet (the cryptography library), keys from INITIATOR_TOKEN_KEYS, newest
first, so a key can be rotated in (MultiFernet decrypts with any, encrypts with the first)."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        # Local runs only: a key derived from SECRET_KEY (production sets INITIATOR_TOKEN_KEYS).
        derived = base64.urlsafe_b64encode(hashlib.sha256(f"initiator-tokens:{secret_key}".encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.INITIATOR_TOKEN_KEYS), str(settings.SECRET_KEY))


def encrypt(value: str) -> str:
    return _current().encrypt(value.encode("utf-8")).decode("ascii") if value else ""


def decrypt(value: str) -> str:
    """The plaintext; empty when nothing is stored or no configured key opens it."""
    if not value:
        return ""
    try:
        return _current().decrypt(value.encode("ascii")).decode("utf-8")
    except InvalidToken:
        return ""
