"""The holder's (our) signing key: every response body is a JWS signed with it (payments v4 "Assinatura de payloads").

The key is loaded once per process and per path; signing never touches the file system on the request path.
"""

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

KEY_SIZE = 2048


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _write_new_key(path: Path) -> None:
    """Creates the key at ``path`` unless another process already did.

    The PEM is written to a private temporary file in the same directory and then hard-linked into place:
    ``link`` fails when the target exists, so concurrent starters never overwrite each other and no reader
    ever sees a half-written file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    fd, tmp_name = tempfile.mkstemp(prefix=".holder-key-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race; its key is the key
            os.link(tmp_name, path)
    finally:
        os.unlink(tmp_name)


def load_or_create_private_key(path: Path, *, autocreate: bool) -> rsa.RSAPrivateKey:
    """The RSA private key stored (PEM) at ``path``; created there first when missing and ``autocreate``."""
    if not path.exists():
        if not autocreate:
            raise ImproperlyConfigured(f"holder signing key {path} is missing (OPUSOF_SIGNING_KEY_PATH)")
        _write_new_key(path)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_SIZE:
        raise ImproperlyConfigured(f"holder signing key {path} must be an RSA key of at least {KEY_SIZE} bits (PS256)")
    return key


@lru_cache(maxsize=4)
def _cached_key(path: str, autocreate: bool) -> rsa.RSAPrivateKey:
    return load_or_create_private_key(Path(path), autocreate=autocreate)


def holder_private_key() -> rsa.RSAPrivateKey:
    """Our signing key (cached per process; created on first use where OPUSOF_SIGNING_KEY_AUTOCREATE allows)."""
    return _cached_key(settings.OPUSOF_SIGNING_KEY_PATH, bool(settings.OPUSOF_SIGNING_KEY_AUTOCREATE))


@lru_cache(maxsize=4)
def _public_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"kty": jwk["kty"], "n": jwk["n"], "e": jwk["e"]}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint of an RSA JWK: SHA-256 over the required members, lexicographic, no whitespace."""
    canonical = json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


@lru_cache(maxsize=4)
def _thumbprint(key: rsa.RSAPrivateKey) -> str:
    return jwk_thumbprint(_public_jwk(key))


def holder_kid() -> str:
    """The ``kid`` of our signing key as published on the Directory: configured, else its RFC 7638 thumbprint."""
    configured: str = settings.OPUSOF_SIGNING_KEY_ID
    return configured or _thumbprint(holder_private_key())


def holder_public_jwks() -> dict[str, Any]:
    """The JWKS a TPP verifies our responses with (public members only)."""
    jwk = {**_public_jwk(holder_private_key()), "kid": holder_kid(), "use": "sig", "alg": "PS256"}
    return {"keys": [jwk]}
