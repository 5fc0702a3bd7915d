"""The OFB Directory as the authorisation server trusts it: the public JWKS software statements are verified with
(OPUSOF_DIRECTORY_JWKS_PATH), and, for local runs and tests only, a stand-in Directory that owns the matching
private key and issues software statements (docs/architecture.md: "a local stand-in for the OFB Directory")."""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import RSAAlgorithm

from opusof.jose import parse_jwks
from opusof.keys import jwk_thumbprint, load_or_create_private_key

ALGORITHM = "PS256"


def trusted_keys() -> dict[str, rsa.RSAPublicKey]:
    """The Directory's signing keys by kid; empty when no Directory JWKS is configured (registration is off)."""
    path = Path(settings.OPUSOF_DIRECTORY_JWKS_PATH)
    if not path.exists():
        return {}
    try:
        return parse_jwks(json.loads(path.read_text(encoding="utf-8")))
    except ValueError:
        return {}


# --- local stand-in --------------------------------------------------------------------------------------------------


def _stand_in_dir() -> Path:
    return Path(settings.OPUSOF_DIRECTORY_JWKS_PATH).parent


def stand_in_key() -> tuple[rsa.RSAPrivateKey, str]:
    """The stand-in Directory's key (created once next to the trusted JWKS, which is written to match).

    Refuses when a trusted JWKS is there without a stand-in key beside it: that is a real Directory's, never to be
    overwritten."""
    key_path = _stand_in_dir() / "private-key.pem"
    if Path(settings.OPUSOF_DIRECTORY_JWKS_PATH).exists() and not key_path.exists():
        raise ImproperlyConfigured("OPUSOF_DIRECTORY_JWKS_PATH holds a real Directory JWKS; no stand-in Directory")
    key = load_or_create_private_key(key_path, autocreate=True)
    public: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk = {"kty": "RSA", "n": public["n"], "e": public["e"]}
    kid = jwk_thumbprint(jwk)
    jwks_path = Path(settings.OPUSOF_DIRECTORY_JWKS_PATH)
    document = json.dumps({"keys": [{**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM}]}, indent=2) + "\n"
    if not jwks_path.exists() or jwks_path.read_text(encoding="utf-8") != document:
        jwks_path.write_text(document, encoding="utf-8")
    return key, kid


def issue_software_statement(claims: dict[str, Any]) -> str:
    """A software statement (SSA) as the Directory signs it: PS256, iss the Directory, fresh iat and jti."""
    key, kid = stand_in_key()
    body = {"iss": settings.OPUSOF_DIRECTORY_ISSUER, "iat": int(time.time()), "jti": str(uuid.uuid4()), **claims}
    return jwt.encode(body, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})
