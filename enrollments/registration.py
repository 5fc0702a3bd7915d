"""FIDO2 registration of an enrollment's credential (fido-registration-options, fido-registration): a failed
registration rejects the enrollment (REJEITADO_FALHA_FIDO), and the error is raised after that write commits."""

from typing import Any

from django.db import transaction
from webauthn.helpers import base64url_to_bytes

from enrollments import fido
from enrollments.challenges import new_challenge, take_challenge
from enrollments.errors import (
    EnrollmentStatusNotAllowed,
    FidoPublicKeyInvalid,
    FidoVerificationFailed,
    RelyingPartyInvalid,
)
from enrollments.expiry import lock_enrollment
from enrollments.models import (
    CancelledFrom,
    Enrollment,
    EnrollmentRejectionReason,
    EnrollmentStatus,
    FidoChallenge,
    FidoCredential,
)
from enrollments.transitions import enrollment_transition
from opusof import clock
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.models import TppClient

# Registration options an enrollment may ask for before it is rejected (REJEITADO_MAXIMO_CHALLENGES_ATINGIDO).
MAX_REGISTRATION_CHALLENGES = 5


def fido_registration_options_create(
    *, client: TppClient, enrollment_id: str, rp_id: str, platform: str
) -> tuple[Enrollment, dict[str, Any]]:
    """POST fido-registration-options: WebAuthn creation options with a new challenge (enrollment AWAITING_ENROLLMENT;
    the RP must be one the TPP registered, else RP_INVALIDA)."""
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        error: RegulatedError | None = None
        options: dict[str, Any] = {}
        if enrollment.status != EnrollmentStatus.AWAITING_ENROLLMENT:
            error = EnrollmentStatusNotAllowed(
                "O status do vínculo de conta é tal que não permite o registro de nova credencial."
            )
        elif not fido.rp_id_allowed(client, rp_id):
            error = RelyingPartyInvalid("O identificador da Relying Party informado não pode ser verificado.")
        elif (
            FidoChallenge.objects.filter(enrollment=enrollment, purpose=FidoChallenge.Purpose.REGISTRATION).count()
            >= MAX_REGISTRATION_CHALLENGES
        ):
            # EnrollmentRejectionReason REJEITADO_MAXIMO_CHALLENGES_ATINGIDO: too many frustrated attempts.
            error = EnrollmentStatusNotAllowed("Número máximo de challenges atingido; vínculo de conta rejeitado.")
            enrollment_transition(
                enrollment,
                lambda: enrollment.reject(
                    reason=EnrollmentRejectionReason.REJEITADO_MAXIMO_CHALLENGES_ATINGIDO,
                    cancelled_from=CancelledFrom.DETENTORA,
                ),
                actor=f"tpp:{client.client_id}",
                reason=EnrollmentRejectionReason.REJEITADO_MAXIMO_CHALLENGES_ATINGIDO,
                now=clock.now(),
            )
        else:
            now = clock.now()
            challenge = new_challenge(enrollment, purpose=FidoChallenge.Purpose.REGISTRATION, rp_id=rp_id, now=now)
            enrollment.platform = platform
            enrollment.save(update_fields=["platform"])
            options = fido.registration_options(
                rp_id=rp_id,
                rp_name=client.name,
                user_handle=base64url_to_bytes(enrollment.user_handle),
                user_name=enrollment.logged_user_document,
                user_display_name=enrollment.customer_name or enrollment.logged_user_document,
                challenge=base64url_to_bytes(challenge.challenge),
                exclude_credential_ids=[],
            )
    if error is not None:
        raise error
    return enrollment, options


def fido_registration_complete(*, client: TppClient, enrollment_id: str, data: dict[str, Any]) -> Enrollment:
    """POST fido-registration: verifies the attestation (webauthn) and makes the enrollment AUTHORISED.

    A failed verification rejects the enrollment (REJEITADO_FALHA_FIDO), as the operation's description demands:
    the challenge cannot be used for another registration."""
    if data["rawId"] != data["id"]:
        raise ParameterInvalid("Parâmetro rawId deve ser idêntico a id.")
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        if enrollment.status != EnrollmentStatus.AWAITING_ENROLLMENT:
            status_error: RegulatedError | None = EnrollmentStatusNotAllowed(
                "O status do vínculo de conta é tal que não permite o registro de nova credencial."
            )
        else:
            status_error = None
    if status_error is not None:
        raise status_error
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        now = clock.now()
        error: RegulatedError | None = None
        try:
            challenge = take_challenge(enrollment, purpose=FidoChallenge.Purpose.REGISTRATION)
            credential = fido.verify_registration(
                data=data,
                expected_challenge=base64url_to_bytes(challenge.challenge),
                rp_id=challenge.rp_id,
                origins=fido.client_origins(client),
            )
            if FidoCredential.objects.filter(credential_id=credential.credential_id).exists():
                raise FidoPublicKeyInvalid("Credencial já registrada em outro vínculo de conta.")
        except (FidoVerificationFailed, ParameterInvalid) as exc:
            error = exc
            info = f"{exc.code}: {exc.detail}"[:2048]
            enrollment_transition(
                enrollment,
                lambda: enrollment.reject(
                    reason=EnrollmentRejectionReason.REJEITADO_FALHA_FIDO,
                    cancelled_from=CancelledFrom.DETENTORA,
                    info=info,
                ),
                actor=f"tpp:{client.client_id}",
                reason=EnrollmentRejectionReason.REJEITADO_FALHA_FIDO,
                now=now,
            )
        else:
            FidoCredential.objects.create(
                enrollment=enrollment,
                credential_id=credential.credential_id,
                public_key=credential.public_key,
                sign_count=credential.sign_count,
                aaguid=credential.aaguid,
                attestation_format=credential.attestation_format,
                origin=credential.origin,
                created_at=now,
            )
            enrollment.rp_id = challenge.rp_id
            enrollment_transition(enrollment, enrollment.enroll, actor=f"tpp:{client.client_id}", now=now)
    if error is not None:
        raise error
    return enrollment
