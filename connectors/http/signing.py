"""JWS on the Opus connector routes.

The contract (``spec/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``) declares every route's request body as
``application/jwt`` and every response as ``application/json``; the Opus docs name no key distribution, so the keys
are configured: the bank verifies our bodies with opusof's published JWKS (``opusof.keys.holder_public_jwks``) and,
where a bank also signs its answers, opusof verifies them with the bank's JWKS (``OPUSOF_CONNECTOR_HTTP_BANK_JWKS``).

The JWS profile is the one opusof already speaks with the TPPs (``opusof.jose``): PS256, ``kid`` in the header,
claims = the JSON body plus ``iss``, ``aud``, ``iat`` and a fresh ``jti``. Signing and verification are PyJWT's.
"""

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from django.core.serializers.json import DjangoJSONEncoder

from opusof.jose import ALGORITHM, parse_jwks, sign_payload

CONTENT_TYPE = "application/jwt"
ENVELOPE_CLAIMS = ("iss", "aud", "iat", "jti")

_jws = jwt.PyJWS(algorithms=[ALGORITHM])


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
    of ``keys`` and its ``iss``/``aud``/``iat`` check out; SignatureError otherwise. Replays (a ``jti`` seen before)
    are the receiver's to refuse."""
    try:
        header = _jws.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise SignatureError("JWS malformado") from exc
    if header.get("alg") != ALGORITHM:
        raise SignatureError(f"algoritmo {header.get('alg')!r}; esperado {ALGORITHM}")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise SignatureError(f"kid {header.get('kid')!r} desconhecido")
    try:
        claims = json.loads(_jws.decode_complete(token, key, algorithms=[ALGORITHM])["payload"])
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise SignatureError("assinatura inválida") from exc
    if not isinstance(claims, dict):
        raise SignatureError("o payload do JWS não é um objeto JSON")
    if issuer is not None and claims.get("iss") != issuer:
        raise SignatureError("iss inválido")
    aud = claims.get("aud")
    if audience is not None and not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise SignatureError("aud inválido")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or abs(time.time() - iat) > tolerance_seconds:
        raise SignatureError("iat ausente ou fora da janela")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise SignatureError("jti ausente")
    return {name: value for name, value in claims.items() if name not in ENVELOPE_CLAIMS}, jti
