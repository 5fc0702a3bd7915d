"""JOSE as a TPP: what we sign (request bodies, client assertions, request objects) and how a holder's signed
answers are checked before anything in them is trusted (payments v4 "Assinatura de payloads"; OIDC Core §3.3.2.11;
JARM §2.4)."""

import base64
import hashlib
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from initiator.fapi.keys import signing_key, signing_kid
from opusof.jose import JwsRejected, verify_jws

ALGORITHM = "PS256"
# OFB security guide: an assertion or request object lives minutes, not hours.
ASSERTION_TTL_SECONDS = 60
REQUEST_OBJECT_TTL_SECONDS = 300
CLOCK_LEEWAY_SECONDS = 10

_jws = jwt.PyJWS(algorithms=[ALGORITHM])


class HolderSignatureInvalid(Exception):
    """A holder's answer (JWS body, id_token, JARM) that fails verification: never trusted, never forwarded."""


def _sign(claims: dict[str, Any]) -> str:
    return jwt.encode(
        claims,
        signing_key(),
        algorithm=ALGORITHM,
        headers={"kid": signing_kid(), "typ": "JWT"},
        json_encoder=DjangoJSONEncoder,
    )


def sign_body(data: dict[str, Any], *, audience: str) -> str:
    """A request body as the holder expects it: ``iss`` our organisation, ``aud`` the full URL called, ``iat``,
    a fresh ``jti`` (so a retry is re-signed, never replayed)."""
    claims = {
        **data,
        "iss": settings.INITIATOR_ORGANISATION_ID,
        "aud": audience,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
    }
    return _sign(claims)


def client_assertion(*, client_id: str, audience: str) -> str:
    """private_key_jwt (RFC 7523 §3): iss = sub = client_id, short-lived, single-use jti."""
    now = int(time.time())
    return _sign(
        {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_TTL_SECONDS,
            "jti": str(uuid.uuid4()),
        }
    )


def request_object(*, client_id: str, issuer: str, params: dict[str, Any]) -> str:
    """A signed request object for PAR (FAPI 1 Advanced §5.2.2-10, RFC 9101): aud the holder's issuer."""
    now = int(time.time())
    return _sign(
        {
            "iss": client_id,
            "aud": issuer,
            "client_id": client_id,
            "iat": now,
            "nbf": now,
            "exp": now + REQUEST_OBJECT_TTL_SECONDS,
            "jti": str(uuid.uuid4()),
            **params,
        }
    )


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 §4.2 S256."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def half_hash(value: str) -> str:
    """OIDC Core §3.3.2.11 c_hash / s_hash for PS256: left half of SHA-256, base64url."""
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("ascii")).digest()[:16]).rstrip(b"=").decode("ascii")


def kid_of(token: str) -> str:
    """The ``kid`` of a holder's JWS, to pick its key; not PS256, or no ``kid``, is refused before any key is looked
    up."""
    try:
        header = _jws.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise HolderSignatureInvalid("JWS malformado.") from exc
    if header.get("alg") != ALGORITHM:
        raise HolderSignatureInvalid(f"Algoritmo {header.get('alg')!r} não aceito; esperado {ALGORITHM}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise HolderSignatureInvalid("JWS sem kid.")
    return kid


def _verified(token: str, *, key: RSAPublicKey, what: str, **checks: Any) -> dict[str, Any]:
    """The one verification path (``opusof.jose.verify_jws``, the holder's own for what it receives) with the
    holder's key, its refusals as ``HolderSignatureInvalid`` naming ``what`` was refused."""
    try:
        return verify_jws(token, key_for=lambda _kid: key, **checks)
    except JwsRejected as exc:
        raise HolderSignatureInvalid(f"{what} inválida: {exc}") from exc


def verify_holder_body(token: str, *, key: RSAPublicKey, holder_organisation_id: str) -> dict[str, Any]:
    """The claims of a holder's signed answer: signature, ``iss`` the holder's organisation, ``aud`` ours, ``iat``
    within the tolerance (payments v4 "Assinatura de payloads", the same checks the holder makes on ours)."""
    return _verified(
        token,
        key=key,
        what="Assinatura da resposta da detentora",
        issuer=holder_organisation_id,
        audience=settings.INITIATOR_ORGANISATION_ID,
        iat_window_seconds=settings.OPUSOF_JWS_IAT_TOLERANCE_SECONDS,
    )


def verify_id_token(
    token: str, *, key: RSAPublicKey, issuer: str, client_id: str, nonce: str, code: str, state: str
) -> dict[str, Any]:
    """OIDC Core §3.3.2.12 for the hybrid flow's front-channel id_token: signature, iss, aud, exp, nonce, and
    c_hash/s_hash binding the code and state that came with it (FAPI 1 Advanced §5.2.2.1)."""
    claims = _verified(
        token,
        key=key,
        what="Assinatura do id_token",
        issuer=issuer,
        audience=client_id,
        require=("exp", "iat", "nonce"),
        leeway_seconds=CLOCK_LEEWAY_SECONDS,
    )
    if claims.get("nonce") != nonce:
        raise HolderSignatureInvalid("nonce do id_token não corresponde ao pedido.")
    if claims.get("c_hash") != half_hash(code):
        raise HolderSignatureInvalid("c_hash do id_token não corresponde ao code.")
    if "s_hash" in claims and claims["s_hash"] != half_hash(state):
        raise HolderSignatureInvalid("s_hash do id_token não corresponde ao state.")
    return claims


def verify_jarm(token: str, *, key: RSAPublicKey, issuer: str, client_id: str) -> dict[str, Any]:
    """JARM §2.4: signature, iss the holder's issuer, aud our client_id, exp."""
    return _verified(
        token,
        key=key,
        what="Assinatura da resposta JARM",
        issuer=issuer,
        audience=client_id,
        require=("exp",),
        leeway_seconds=CLOCK_LEEWAY_SECONDS,
    )
