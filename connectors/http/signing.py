"""JWS on the Opus connector routes.

The contract (``spec/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``) declares every route's request body as
``application/jwt`` and every response as ``application/json``; the Opus docs name no key distribution, so the keys
are configured: the bank verifies our bodies with opusof's published JWKS (``opusof.keys.holder_public_jwks``) and,
where a bank also signs its answers, opusof verifies them with the bank's JWKS (``OPUSOF_CONNECTOR_HTTP_BANK_JWKS``).

The JWS profile is the one opusof already speaks with the TPPs (``opusof.jose``): PS256, ``kid`` in the header,
claims = the JSON body plus ``iss``, ``aud``, ``iat`` and a fresh ``jti``; verification is ``opusof.jose.verify_jws``.
"""

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from django.core.serializers.json import DjangoJSONEncoder

from opusof.jose import ALGORITHM, JwsRejected, parse_jwks, sign_payload, verify_jws

CONTENT_TYPE = "application/jwt"
ENVELOPE_CLAIMS = ("iss", "aud", "iat", "jti")


class SignatureError(ValueError):
    """A body that is not a valid JWS from the expected party."""


def sign_request(payload: dict[str, Any], *, audience: str) -> str:
    """A route's request body, signed with opusof's key (``iss`` our organisation, ``aud`` the route's URL)."""
    return sign_payload(payload, audience=audience)


def sign_with(key: RSAPrivateKey, kid: str, payload: dict[str, Any], *, issuer: str, audience: str, jti: str) -> str:
    """``payload`` as a PS256 JWS with another party's key (the reference bank answering opusof)."""
    claims = {**payload, "iss": issuer, "aud": audience, "iat": int(time.time()), "jti": jti}
    return jwt.encode(
        claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"}, json_encoder=DjangoJSONEncoder
    )


def keys_from(jwks: Any) -> dict[str, RSAPublicKey]:
    """The signing keys of a JWKS given as a dict or as its JSON text (an environment variable)."""
    if isinstance(jwks, str):
        jwks = json.loads(jwks) if jwks.strip() else {"keys": []}
    return parse_jwks(jwks or {"keys": []})


def verify(
    token: str,
    *,
    keys: dict[str, RSAPublicKey],
    audience: str | None = None,
    issuer: str | None = None,
    tolerance_seconds: float = 60,
) -> tuple[dict[str, Any], str]:
    """The JSON body inside ``token`` (envelope claims removed) and its ``jti``, once its PS256 signature by a key
    of ``keys`` and its ``iss``/``aud``/``iat`` check out (``opusof.jose.verify_jws``); SignatureError otherwise.
    Replays (a ``jti`` seen before) are the receiver's to refuse."""
    try:
        claims = verify_jws(
            token,
            key_for=keys.get,
            issuer=issuer,
            audience=audience,
            iat_window_seconds=tolerance_seconds,
            require=("jti",),
        )
    except JwsRejected as exc:
        raise SignatureError(str(exc)) from exc
    return {name: value for name, value in claims.items() if name not in ENVELOPE_CLAIMS}, claims["jti"]
