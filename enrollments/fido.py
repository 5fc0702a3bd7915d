"""The FIDO2 server of enrollments v2, on the maintained ``webauthn`` library (py_webauthn): options, attestation and
assertion verification. Nothing cryptographic is done here by hand; when the library refuses a response, its own
parsers tell which check failed so the TPP gets the spec's code (422ResponseErrorFidoRegistration):
origin → ORIGEM_FIDO_INVALIDA, challenge → CHALLENGE_INVALIDO, rpIdHash → RP_ID_HASH_INVALIDO, authenticator
extensions → EXTENSION_INVALIDA, anything about the key, attestation or signature → PUBLIC_KEY_INVALIDA.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import cbor2
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_attestation_object,
    parse_authenticator_data,
    parse_client_data_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse, WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from enrollments.errors import (
    FidoChallengeInvalid,
    FidoExtensionInvalid,
    FidoOriginInvalid,
    FidoPublicKeyInvalid,
    FidoRpIdHashInvalid,
    FidoVerificationFailed,
)
from opusof.errors import ParameterInvalid
from opusof.models import TppClient

# ES256 and RS256: what platform authenticators (Android, iOS, Windows Hello) and security keys produce.
SUPPORTED_ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
CHALLENGE_TTL_MS = 300_000
# Authenticator extension outputs we accept; any other one is refused (EXTENSION_INVALIDA).
ALLOWED_AUTHENTICATOR_EXTENSIONS = frozenset({"credProtect", "hmac-secret", "minPinLength", "credBlob"})


def client_origins(client: TppClient) -> list[str]:
    """Origins allowed in clientDataJSON: the spec's ``software_origin_uris`` of the client's software statement.

    TppClient keeps no ``software_origin_uris`` yet (the DCR stores redirect and webhook URIs only), so the origins
    of its registered redirect URIs stand in for them: the same web application that receives the redirect."""
    origins: list[str] = []
    for uri in client.redirect_uris or []:
        parts = urlsplit(str(uri))
        if parts.scheme in ("https", "http") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in origins:
                origins.append(origin)
    return origins


def rp_id_allowed(client: TppClient, rp_id: str) -> bool:
    """A WebAuthn RP id must be the origin's host or a registrable suffix of it (W3C WebAuthn §5.1.4.1); a suffix
    needs a dot of its own (never a bare TLD), the exact host may be e.g. ``localhost``."""
    if not rp_id:
        return False
    for origin in client_origins(client):
        host = urlsplit(origin).hostname or ""
        if host == rp_id or ("." in rp_id.strip(".") and host.endswith(f".{rp_id}")):
            return True
    return False


@dataclass(frozen=True)
class RegisteredCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    attestation_format: str
    origin: str


def registration_options(
    *,
    rp_id: str,
    rp_name: str,
    user_handle: bytes,
    user_name: str,
    user_display_name: str,
    challenge: bytes,
    exclude_credential_ids: list[str],
) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptions as the library serialises them (camelCase, base64url)."""
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=user_display_name,
        challenge=challenge,
        timeout=CHALLENGE_TTL_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in exclude_credential_ids],
        supported_pub_key_algs=SUPPORTED_ALGORITHMS,
    )
    serialised: dict[str, Any] = json.loads(options_to_json(options))
    return serialised


def authentication_options(*, rp_id: str, challenge: bytes, credential_id: str) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptions restricted to the enrollment's credential."""
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=CHALLENGE_TTL_MS,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential_id))],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    serialised: dict[str, Any] = json.loads(options_to_json(options))
    return serialised


def _decode(value: Any, field: str) -> bytes:
    try:
        return base64url_to_bytes(str(value))
    except (ValueError, TypeError) as exc:
        raise ParameterInvalid(f"Parâmetro {field} não obedece as regras de formatação esperadas.") from exc


def _classify_client_data(client_data_bytes: bytes, *, expected_challenge: bytes, origins: list[str]) -> None:
    try:
        client_data = parse_client_data_json(client_data_bytes)
    except Exception as exc:  # the library raises a variety of decoding errors for a malformed JSON
        raise ParameterInvalid(
            "Parâmetro response.clientDataJSON não obedece as regras de formatação esperadas."
        ) from exc
    if client_data.origin not in origins:
        raise FidoOriginInvalid(f"Origin {client_data.origin[:200]} não consta das origens registradas da iniciadora.")
    if client_data.challenge != expected_challenge:
        raise FidoChallengeInvalid("O challenge não corresponde ao gerado pelo servidor FIDO2.")


def _check_rp_id_hash(rp_id_hash: bytes, rp_id: str) -> None:
    if rp_id_hash != hashlib.sha256(rp_id.encode("utf-8")).digest():
        raise FidoRpIdHashInvalid("O rpIdHash do authenticatorData não corresponde à Relying Party.")


def _check_extensions(extensions: bytes | None) -> None:
    if not extensions:
        return
    try:
        outputs = cbor2.loads(extensions)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise FidoExtensionInvalid("Extensões do autenticador ilegíveis.") from exc
    unknown = set(outputs) - ALLOWED_AUTHENTICATOR_EXTENSIONS if isinstance(outputs, dict) else {"?"}
    if unknown:
        raise FidoExtensionInvalid(f"Extensões não admitidas: {', '.join(sorted(map(str, unknown)))[:200]}.")


def _registration_credential(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "rawId": data["rawId"],
        "type": data.get("type") or "public-key",
        "response": {
            "clientDataJSON": data["response"]["clientDataJSON"],
            "attestationObject": data["response"]["attestationObject"],
        },
        "clientExtensionResults": data.get("clientExtensionResults") or {},
    }


def verify_registration(
    *, data: dict[str, Any], expected_challenge: bytes, rp_id: str, origins: list[str]
) -> RegisteredCredential:
    """Verifies the attestation of POST fido-registration (``data`` of EnrollmentFidoRegistration)."""
    client_data_bytes = _decode(data["response"]["clientDataJSON"], "response.clientDataJSON")
    attestation_bytes = _decode(data["response"]["attestationObject"], "response.attestationObject")
    _classify_client_data(client_data_bytes, expected_challenge=expected_challenge, origins=origins)
    try:
        attestation = parse_attestation_object(attestation_bytes)
    except Exception as exc:  # malformed CBOR surfaces as several exception types
        raise FidoPublicKeyInvalid("attestationObject ilegível.") from exc
    _check_rp_id_hash(attestation.auth_data.rp_id_hash, rp_id)
    _check_extensions(attestation.auth_data.extensions)
    try:
        verified = verify_registration_response(
            credential=_registration_credential(data),
            expected_challenge=expected_challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            require_user_verification=True,
            supported_pub_key_algs=SUPPORTED_ALGORITHMS,
        )
    except (InvalidRegistrationResponse, WebAuthnException) as exc:
        raise FidoPublicKeyInvalid(f"Credencial recusada pelo servidor FIDO2: {str(exc)[:300]}") from exc
    client_data = parse_client_data_json(client_data_bytes)
    return RegisteredCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        attestation_format=str(verified.fmt.value if hasattr(verified.fmt, "value") else verified.fmt),
        origin=client_data.origin,
    )


def verify_assertion(
    *,
    assertion: dict[str, Any],
    expected_challenge: bytes,
    rp_id: str,
    origins: list[str],
    credential_id: str,
    public_key: bytes,
    sign_count: int,
) -> int:
    """Verifies the ``fidoAssertion`` of POST /consents/{consentId}/authorise against the enrollment's credential;
    returns the authenticator's new signature counter."""
    if assertion.get("id") != credential_id or assertion.get("rawId") != credential_id:
        raise FidoPublicKeyInvalid("A credencial da asserção não pertence a este vínculo de conta.")
    response = assertion["response"]
    client_data_bytes = _decode(response["clientDataJSON"], "fidoAssertion.response.clientDataJSON")
    authenticator_data = _decode(response["authenticatorData"], "fidoAssertion.response.authenticatorData")
    _classify_client_data(client_data_bytes, expected_challenge=expected_challenge, origins=origins)
    try:
        parsed = parse_authenticator_data(authenticator_data)
    except Exception as exc:  # malformed authenticator data surfaces as several exception types
        raise FidoPublicKeyInvalid("authenticatorData ilegível.") from exc
    _check_rp_id_hash(parsed.rp_id_hash, rp_id)
    _check_extensions(parsed.extensions)
    credential = {
        "id": assertion["id"],
        "rawId": assertion["rawId"],
        "type": assertion.get("type") or "public-key",
        "response": {
            "clientDataJSON": response["clientDataJSON"],
            "authenticatorData": response["authenticatorData"],
            "signature": response["signature"],
            "userHandle": response.get("userHandle") or None,
        },
        "clientExtensionResults": assertion.get("clientExtensionResults") or {},
    }
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=expected_challenge,
            expected_rp_id=rp_id,
            expected_origin=origins,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, WebAuthnException) as exc:
        raise FidoPublicKeyInvalid(f"Asserção recusada pelo servidor FIDO2: {str(exc)[:300]}") from exc
    return verified.new_sign_count


__all__ = [
    "CHALLENGE_TTL_MS",
    "FidoVerificationFailed",
    "RegisteredCredential",
    "authentication_options",
    "client_origins",
    "registration_options",
    "rp_id_allowed",
    "verify_assertion",
    "verify_registration",
]
