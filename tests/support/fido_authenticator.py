"""A software FIDO2 authenticator: real WebAuthn structures (CBOR attestation object with "none" attestation, ES256
assertions over authenticatorData || SHA-256(clientDataJSON)) from an EC P-256 key of ``cryptography``.

    device = SoftAuthenticator()
    credential = device.create(options, origin="https://tpp.example.com")   # navigator.credentials.create()
    assertion = device.get(options, origin="https://tpp.example.com")        # navigator.credentials.get()

Knobs for the negative tests: ``rp_id=`` overrides the RP id hashed into authenticatorData, ``challenge=`` the one
written into clientDataJSON, ``sign_count=`` the counter, ``flags=`` the flag byte, ``key=`` signs with another key.
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT, ED = 0x01, 0x04, 0x40, 0x80


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def cose_key(public: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public.public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    sign_count: int = 0
    aaguid: bytes = b"\x00" * 16

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}, separators=(",", ":")
        ).encode()

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        challenge: str | None = None,
        flags: int = UP | UV | AT,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The PublicKeyCredential JSON of a registration (EnrollmentFidoRegistration.data)."""
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or options["rp"]["id"]).encode()).digest()
        attested = self.aaguid + struct.pack(">H", len(self.credential_id)) + self.credential_id
        auth_data = rp_hash + bytes([flags | (ED if extensions else 0)]) + struct.pack(">I", self.sign_count)
        auth_data += attested + cose_key(self.key.public_key())
        if extensions:
            auth_data += cbor2.dumps(extensions)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation)},
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        challenge: str | None = None,
        sign_count: int | None = None,
        flags: int = UP | UV,
        key: ec.EllipticCurvePrivateKey | None = None,
        user_handle: str = "",
    ) -> dict[str, Any]:
        """The PublicKeyCredential JSON of an assertion (ConsentAuthorization.data.fidoAssertion)."""
        if sign_count is None:
            self.sign_count += 1
            sign_count = self.sign_count
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        rp_hash = hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
        auth_data = rp_hash + bytes([flags]) + struct.pack(">I", sign_count)
        signature = (key or self.key).sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": user_handle,
            },
            "clientExtensionResults": {},
        }
