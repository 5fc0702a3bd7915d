"""A TPP as the tests drive it: signs request bodies with its own key and calls the API through DRF's APIClient.

    tpp.post("/open-banking/payments/v4/consents", {"data": {...}}, token=token)
    tpp.get(f"/open-banking/payments/v4/consents/{consent_id}", token=token)
    body = tpp.decode(response)  # verifies our signature, aud = the TPP's organisation

``data`` is the whole request body object (the spec's request schema, i.e. ``{"data": {...}}``); the JWT claims
``aud`` (OPUSOF_BASE_URL + path), ``iss`` (the TPP's organisation), ``iat`` (now) and a fresh ``jti`` are added.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.http.response import HttpResponseBase
from jwt.algorithms import RSAAlgorithm
from rest_framework.test import APIClient

from opusof.keys import jwk_thumbprint
from opusof.models import TppClient
from tests.support.spec import decode_holder_jws

DROP = object()
"""In ``override_claims`` or ``headers``: remove that claim/header instead of setting it."""
_AUTO = object()


def public_jwk(key: rsa.RSAPrivateKey, *, kid: str | None = None) -> dict[str, Any]:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    public = {"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}
    return {**public, "kid": kid or jwk_thumbprint(public), "use": "sig", "alg": "PS256"}


def jwks_of(*keys: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {"keys": [public_jwk(key) for key in keys]}


@dataclass
class TppActor:
    client: TppClient
    key: rsa.RSAPrivateKey
    kid: str
    api: APIClient = field(default_factory=APIClient)

    # --- signing --------------------------------------------------------------------------------------------------

    def claims_for(
        self,
        path: str,
        data: dict[str, Any],
        *,
        extra_claims: dict[str, Any] | None = None,
        override_claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {
            **data,
            "aud": f"{settings.OPUSOF_BASE_URL}{path.split('?', 1)[0]}",
            "iss": self.client.organisation_id,
            "iat": int(time.time()),
            "jti": str(uuid.uuid4()),
            **(extra_claims or {}),
        }
        for name, value in (override_claims or {}).items():
            if value is DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(
        self,
        claims: dict[str, Any],
        *,
        sign_with: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        algorithm: str = "PS256",
        jose_headers: dict[str, Any] | None = None,
    ) -> str:
        headers = {"kid": kid or self.kid, "typ": "JWT", **(jose_headers or {})}
        return jwt.encode(claims, sign_with or self.key, algorithm=algorithm, headers=headers)

    # --- requests -------------------------------------------------------------------------------------------------

    def _headers(
        self,
        *,
        token: str | None,
        interaction_id: Any,
        idempotency_key: Any,
        headers: dict[str, Any] | None,
        accept: str | None,
    ) -> dict[str, str]:
        merged: dict[str, Any] = {
            "x-fapi-interaction-id": str(uuid.uuid4()) if interaction_id is _AUTO else interaction_id,
            "x-idempotency-key": str(uuid.uuid4()) if idempotency_key is _AUTO else idempotency_key,
            "Authorization": f"Bearer {token}" if token is not None else None,
            "Accept": accept,
            **(headers or {}),
        }
        return {name: str(value) for name, value in merged.items() if value is not None and value is not DROP}

    def send(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        token: str | None,
        idempotency_key: Any = _AUTO,
        interaction_id: Any = _AUTO,
        extra_claims: dict[str, Any] | None = None,
        override_claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        sign_with: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        raw_body: str | bytes | None = None,
        content_type: str = "application/jwt",
        accept: str | None = "application/jwt",
    ) -> HttpResponseBase:
        """A signed request. ``idempotency_key``/``interaction_id`` default to fresh UUIDs; pass ``None`` to omit."""
        if raw_body is None:
            claims = self.claims_for(path, data or {}, extra_claims=extra_claims, override_claims=override_claims)
            raw_body = self.sign(claims, sign_with=sign_with, kid=kid)
        request_headers = self._headers(
            token=token, interaction_id=interaction_id, idempotency_key=idempotency_key, headers=headers, accept=accept
        )
        # generic() sends the bytes as they are, even with an empty or absent Content-Type
        response: HttpResponseBase = self.api.generic(
            method.upper(), path, data=cast(Any, raw_body), content_type=content_type, headers=request_headers
        )
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> HttpResponseBase:
        """A signed POST; options as :meth:`send`."""
        return self.send("post", path, data, **options)

    def patch(self, path: str, data: dict[str, Any] | None = None, **options: Any) -> HttpResponseBase:
        """A signed PATCH; options as :meth:`send`."""
        return self.send("patch", path, data, **options)

    def get(
        self,
        path: str,
        *,
        token: str | None,
        interaction_id: Any = _AUTO,
        headers: dict[str, Any] | None = None,
        accept: str | None = "application/jwt",
    ) -> HttpResponseBase:
        request_headers = self._headers(
            token=token, interaction_id=interaction_id, idempotency_key=None, headers=headers, accept=accept
        )
        response: HttpResponseBase = self.api.get(path, headers=request_headers)
        return response

    # --- responses ------------------------------------------------------------------------------------------------

    def decode(self, response: HttpResponseBase) -> dict[str, Any]:
        """The claims of a signed response, verified with our JWKS; ``aud`` must be this TPP's organisation."""
        assert response["Content-Type"] == "application/jwt", (response.status_code, response["Content-Type"])
        return decode_holder_jws(getattr(response, "content", b""), audience=self.client.organisation_id)
