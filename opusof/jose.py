"""The one JWS choke point: PS256 signing of our bodies and the one verification of every compact JWS we receive
(payments v4 "Assinatura de payloads", the OFB security guide): TPP request bodies (``verify_request``), request
objects and client assertions at the authorisation server, and the connector bank's answers all go through
``verify_jws``, each caller turning a ``JwsRejected`` into its own protocol's error.

Keys are kept in-process: our key via opusof.keys, the TPPs' parsed JWKS here (inline JWKS keyed by the client row
version, JWKS URIs shared across processes through the Django cache for OPUSOF_JWKS_CACHE_SECONDS). A request never
reads a file or fetches a JWKS, except the one refetch a rotated ``kid`` calls for.
"""

import hashlib
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from jwt.algorithms import RSAAlgorithm

from opusof.degrade import cache_get, cache_set
from opusof.errors import BadSignature, InvalidClient, MalformedClaims
from opusof.keys import holder_kid, holder_private_key
from opusof.models import TppClient, UsedJti
from opusof.replay import jti_first_use
from opusof.untrusted import UntrustedInputError, json_loads

logger = logging.getLogger(__name__)

ALGORITHM = "PS256"
JWKS_FETCH_TIMEOUT_SECONDS = 5.0
# A JWKS URI is refetched on an unknown kid at most this often, so forged kids cannot make us hammer the keystore.
JWKS_REFRESH_MIN_SECONDS_DEFAULT = 10
_PROCESS_CACHE_SIZE = 1024

_jws = jwt.PyJWS(algorithms=[ALGORITHM])


# --- Signing ---------------------------------------------------------------------------------------------------------


def sign_payload(payload: dict[str, Any], *, audience: str) -> str:
    """``payload`` as a compact PS256 JWS from us: ``iss`` our organisation, ``aud`` the TPP's organisation,
    ``iat`` now and a fresh ``jti`` (a TPP rejects a reused one, so replays are re-signed, never copied)."""
    claims = {
        **payload,
        "iss": settings.OPUSOF_ORGANISATION_ID,
        "aud": audience,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(
        claims,
        holder_private_key(),
        algorithm=ALGORITHM,
        headers={"kid": holder_kid(), "typ": "JWT"},
        json_encoder=DjangoJSONEncoder,
    )


# --- TPP keys --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KeySet:
    keys: dict[str, RSAPublicKey]
    fetched_at: float  # wall clock, comparable across processes
    expires_at: float  # wall clock


class _Lru:
    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Any, _KeySet] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> _KeySet | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: _KeySet) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_inline_keys = _Lru(_PROCESS_CACHE_SIZE)
_uri_keys = _Lru(_PROCESS_CACHE_SIZE)
_fetch_lock = threading.Lock()


def clear_key_caches() -> None:
    """Forget every parsed TPP key in this process (tests, or after a registry change)."""
    _inline_keys.clear()
    _uri_keys.clear()


def parse_jwks(jwks: Any) -> dict[str, RSAPublicKey]:
    """The RSA signing keys of a JWKS by ``kid``. Encryption keys and other key types are not signing keys."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("a JWKS is an object with a 'keys' array")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue
        public = {name: jwk[name] for name in ("kty", "n", "e") if name in jwk}
        key = RSAAlgorithm.from_jwk(public)
        if isinstance(key, RSAPublicKey):
            keys[jwk["kid"]] = key
    return keys


def _jwks_cache_key(uri: str) -> str:
    return "opusof:jwks:" + hashlib.sha256(uri.encode("utf-8")).hexdigest()


def _fetch_jwks(uri: str) -> _KeySet:
    try:
        response = httpx.get(uri, timeout=JWKS_FETCH_TIMEOUT_SECONDS, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
        keys = parse_jwks(document)
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("JWKS %s could not be fetched: %s", uri, exc)
        raise JwksUnavailable("Não foi possível obter as chaves públicas (JWKS) do cliente.") from exc
    now = time.time()
    ttl = settings.OPUSOF_JWKS_CACHE_SECONDS
    cache_set(_jwks_cache_key(uri), {"jwks": document, "fetchedAt": now}, timeout=ttl)
    key_set = _KeySet(keys=keys, fetched_at=now, expires_at=now + ttl)
    _uri_keys.put(uri, key_set)
    return key_set


def _uri_key_set(uri: str) -> _KeySet:
    now = time.time()
    key_set = _uri_keys.get(uri)
    if key_set is not None and key_set.expires_at > now:
        return key_set
    shared = cache_get(_jwks_cache_key(uri))  # a cache that is down is a miss: fetched once more, then in-process
    if shared is not None:
        fetched_at = float(shared["fetchedAt"])
        key_set = _KeySet(
            keys=parse_jwks(shared["jwks"]),
            fetched_at=fetched_at,
            expires_at=fetched_at + settings.OPUSOF_JWKS_CACHE_SECONDS,
        )
        _uri_keys.put(uri, key_set)
        return key_set
    with _fetch_lock:
        key_set = _uri_keys.get(uri)
        if key_set is not None and key_set.expires_at > time.time():
            return key_set
        return _fetch_jwks(uri)


def _refresh_min_seconds() -> float:
    return float(getattr(settings, "OPUSOF_JWKS_REFRESH_MIN_SECONDS", JWKS_REFRESH_MIN_SECONDS_DEFAULT))


def client_key(client: TppClient, kid: str) -> RSAPublicKey | None:
    """The TPP's public key ``kid`` (inline JWKS or JWKS URI, cached), or None; JwksUnavailable when the JWKS URI
    cannot be fetched."""
    if client.jwks_uri:
        key_set = _uri_key_set(client.jwks_uri)
        key = key_set.keys.get(kid)
        if key is None and time.time() - key_set.fetched_at >= _refresh_min_seconds():
            # A kid we do not know yet is how a key rotation shows: refetch once (OFB security guide, JWKS cache).
            with _fetch_lock:
                current = _uri_keys.get(client.jwks_uri) or key_set
                if kid in current.keys:
                    return current.keys[kid]
                if time.time() - current.fetched_at < _refresh_min_seconds():
                    return None
                key = _fetch_jwks(client.jwks_uri).keys.get(kid)
        return key
    version = (client.pk, client.updated_at)
    inline = _inline_keys.get(version)
    if inline is None:
        try:
            keys = parse_jwks(client.jwks) if client.jwks else {}
        except ValueError:
            keys = {}
        inline = _KeySet(keys=keys, fetched_at=0.0, expires_at=float("inf"))
        _inline_keys.put(version, inline)
    return inline.keys.get(kid)


# --- Verification ----------------------------------------------------------------------------------------------------


class JwsRejected(ValueError):
    """A compact JWS we do not accept. Subclasses say which kind of check failed, since the OFB specs answer a bad
    signature and a bad claim differently (payments v4 "Validações" 1.2.3 vs 1.2.4)."""


class JwsSignatureInvalid(JwsRejected):
    """Not a compact JWS, not PS256, no or an unknown ``kid``, or a signature that does not verify."""


class JwksUnavailable(JwsSignatureInvalid):
    """The signer's JWKS URI could not be fetched, so no signature of theirs can be checked now."""


class JwsPayloadInvalid(JwsRejected):
    """A valid signature over something that is not a JSON object of claims."""


class JwsClaimInvalid(JwsRejected):
    """A claim (``claim``) that is missing, malformed or not the expected value."""

    def __init__(self, claim: str, message: str) -> None:
        super().__init__(message)
        self.claim = claim


KeyLookup = Callable[[str], RSAPublicKey | None]


def verify_jws(
    token: str,
    *,
    key_for: KeyLookup,
    issuer: str | None = None,
    audience: str | Collection[str] | None = None,
    iat_window_seconds: float | None = None,
    require: Collection[str] = (),
    leeway_seconds: float = 0,
) -> dict[str, Any]:
    """The claims of ``token`` once it is a PS256 JWS by the key ``key_for(kid)`` returns and its claims hold:
    ``iss`` is ``issuer``; ``aud`` (a string or a list) names one of ``audience``; ``iat``, when present, is a number
    not in the future, and within ``iat_window_seconds`` of now when a window is given (then it is required);
    ``exp``/``nbf``, when present, hold at now ± ``leeway_seconds``; every claim in ``require`` is present and a
    ``jti`` is a string of 1 to 256 characters. Signature problems are checked, and reported, before claims.
    Replays (a ``jti`` seen before) are the caller's to refuse: where the ``jti`` is kept differs per protocol."""
    key = _signing_key(token, key_for)
    try:
        payload = _jws.decode_complete(token, key, algorithms=[ALGORITHM])["payload"]
    except jwt.InvalidTokenError as exc:
        raise JwsSignatureInvalid("Assinatura da mensagem inválida.") from exc
    try:
        claims = json_loads(payload)
    except UntrustedInputError as exc:
        raise JwsPayloadInvalid(f"Payload do JWS recusado: {exc}") from exc
    except ValueError as exc:
        raise JwsPayloadInvalid("O payload do JWS não é um objeto JSON.") from exc
    if not isinstance(claims, dict):
        raise JwsPayloadInvalid("O payload do JWS não é um objeto JSON.")
    _check_claims(
        claims,
        issuer=issuer,
        audiences=[audience] if isinstance(audience, str) else audience,
        iat_window_seconds=iat_window_seconds,
        require={*require, *(("iss",) if issuer is not None else ()), *(("aud",) if audience is not None else ())},
        leeway_seconds=leeway_seconds,
    )
    return claims


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` before any check, to find out who claims to have signed it (a client assertion's
    ``iss`` names the client whose keys verify it, RFC 7523 §3). Never trust them beyond that lookup."""
    try:
        claims = json_loads(_jws.decode_complete(token, options={"verify_signature": False})["payload"])
    except (jwt.InvalidTokenError, ValueError, RecursionError) as exc:  # UntrustedInputError is a ValueError
        raise JwsSignatureInvalid("JWS malformado.") from exc
    if not isinstance(claims, dict):
        raise JwsPayloadInvalid("O payload do JWS não é um objeto JSON.")
    return claims


def _signing_key(token: str, key_for: KeyLookup) -> RSAPublicKey:
    try:
        header = _jws.get_unverified_header(token)
    except (jwt.InvalidTokenError, RecursionError) as exc:  # a header nested past the decoder's recursion limit
        raise JwsSignatureInvalid("JWS malformado.") from exc
    if header.get("alg") != ALGORITHM:
        raise JwsSignatureInvalid(f"Algoritmo de assinatura não suportado; use {ALGORITHM}.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwsSignatureInvalid("Cabeçalho JOSE sem kid.")
    key = key_for(kid)
    if key is None:
        raise JwsSignatureInvalid("kid não encontrado no JWKS do signatário.")
    return key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_claims(
    claims: dict[str, Any],
    *,
    issuer: str | None,
    audiences: Collection[str] | None,
    iat_window_seconds: float | None,
    require: set[str],
    leeway_seconds: float,
) -> None:
    if iat_window_seconds is not None:
        require.add("iat")
    for name in sorted(require):
        if name not in claims:
            raise JwsClaimInvalid(name, f"Claim {name} ausente.")
    if issuer is not None and claims["iss"] != issuer:
        raise JwsClaimInvalid("iss", "Claim iss inválida.")
    if audiences is not None:
        aud = claims["aud"]
        named = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(isinstance(entry, str) and entry in audiences for entry in named):
            raise JwsClaimInvalid("aud", "Claim aud inválida.")
    now = time.time()
    if "iat" in claims:
        iat = claims["iat"]
        if not _is_number(iat) or iat > now + max(leeway_seconds, iat_window_seconds or 0):
            raise JwsClaimInvalid("iat", "Claim iat inválida.")
        if iat_window_seconds is not None and abs(now - iat) > iat_window_seconds:
            raise JwsClaimInvalid("iat", "Claim iat fora da janela de tolerância.")
    if "exp" in claims and (not _is_number(claims["exp"]) or claims["exp"] <= now - leeway_seconds):
        raise JwsClaimInvalid("exp", "JWS expirado.")
    if "nbf" in claims and (not _is_number(claims["nbf"]) or claims["nbf"] > now + leeway_seconds):
        raise JwsClaimInvalid("nbf", "Claim nbf inválida.")
    if "jti" in claims and (not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 256):
        raise JwsClaimInvalid("jti", "Claim jti inválida.")


def verify_request(token: str, *, client: TppClient, expected_audience: str) -> dict[str, Any]:
    """The claims of a TPP's signed request body, or the regulated error the spec names.

    Signature problems are 400 BAD_SIGNATURE and claim problems 403 INVALID_CLIENT (payments v4 "Validações"
    1.2.3, 1.2.4.1, 1.2.4.2). ``expected_audience`` is the full public URL the TPP called.
    """
    try:
        claims = verify_jws(
            token,
            key_for=lambda kid: client_key(client, kid),
            issuer=client.organisation_id,
            audience=expected_audience,
            iat_window_seconds=settings.OPUSOF_JWS_IAT_TOLERANCE_SECONDS,
            require=("jti",),
        )
    except JwsSignatureInvalid as exc:
        raise BadSignature(str(exc)) from exc
    except JwsPayloadInvalid as exc:
        raise MalformedClaims(str(exc)) from exc
    except JwsClaimInvalid as exc:
        raise InvalidClient(str(exc)) from exc
    # Atomic across processes and kept across a Redis restart: one jti per organisation for 24 h (1.2.4.2).
    if not jti_first_use(
        scope=UsedJti.Scope.REQUEST_JWS,
        issuer=client.organisation_id,
        jti=claims["jti"],
        ttl_seconds=settings.OPUSOF_JTI_TTL_SECONDS,
    ):
        raise InvalidClient("Claim jti já utilizada.")
    return claims
