"""A payment consent authorised without redirect, by a FIDO assertion of the enrollment's credential: the assertion
options (fido-sign-options) and POST /consents/{consentId}/authorise (enrollments v2 authorizeConsent).

The operation is a list of checks run in order; the first that fails is the answer. Every 422 of this operation
leaves the payment consent REJECTED when it was still waiting for authorisation (authorizeConsent description,
enrollments-2.1.0.yml line 517: "Em caso de falha de negócio (HTTP Status Code 422), o consentimento de pagamento
precisa transitar para o status REJECTED"), with the payments v4 §5.2 reason each check names.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from webauthn.helpers import base64url_to_bytes

from consents.errors import ConsentNotAuthorisable
from consents.expiry import consent_refresh
from consents.models import ConsentRejectionReason, ConsentStatus, PaymentConsent
from consents.selectors import consent_get_for_client
from consents.services import consent_approvals_required, consent_authorise, consent_reject
from enrollments import fido
from enrollments.challenges import new_challenge, take_challenge
from enrollments.errors import (
    ConsentStatusNotAllowed,
    DebtorAccountMismatch,
    EnrollmentStatusNotAllowed,
    FidoVerificationFailed,
    MissingPlatformSignals,
    RelyingPartyInvalid,
    Risk,
)
from enrollments.expiry import lock_enrollment
from enrollments.models import (
    Enrollment,
    EnrollmentConsentAuthorisation,
    EnrollmentStatus,
    FidoChallenge,
    FidoCredential,
    FidoPlatform,
)
from opusof import clock
from opusof.errors import RegulatedError
from opusof.models import TppClient
from opusof.timeutil import business_date

# RiskSignals "[Restrição]": required when the user's operating system is Android or iOS.
MOBILE_SIGNALS = ("isRootedDevice", "screenBrightness", "elapsedTimeSinceBoot")
AWAITING = (ConsentStatus.AWAITING_AUTHORISATION,)


@dataclass
class Refusal:
    """A failed check: the 422 the TPP gets and the reason the waiting consent is rejected with."""

    error: RegulatedError
    reason: str = ConsentRejectionReason.NAO_INFORMADO


@dataclass
class Attempt:
    client: TppClient
    consent: PaymentConsent
    enrollment: Enrollment
    credential: FidoCredential | None
    assertion: dict[str, Any]
    risk_signals: dict[str, Any]


def _enrollment_authorised(attempt: Attempt) -> Refusal | None:
    # A not yet authorised or revoked enrollment authorises nothing; the consent it was tried on is rejected too.
    if attempt.enrollment.status != EnrollmentStatus.AUTHORISED or attempt.credential is None:
        return Refusal(EnrollmentStatusNotAllowed("O vínculo de conta não possui status AUTHORISED."))
    return None


def _consent_awaiting(attempt: Attempt) -> Refusal | None:
    if attempt.consent.status not in AWAITING:
        return Refusal(
            ConsentStatusNotAllowed("O consentimento de pagamentos não possui status AWAITING_AUTHORISATION.")
        )
    return None


def _assertion_verified(attempt: Attempt) -> Refusal | None:
    """The challenge is consumed whatever the outcome. The FIDO codes (ORIGEM_FIDO_INVALIDA, ...) belong to
    fido-registration's 422 only (yml lines 894-962), not to authorizeConsent's (lines 968-1000), so a failed
    assertion is 422 RISCO with the check's own code in the detail (payments v4 §5.1.10, §5.2)."""
    credential = attempt.credential
    assert credential is not None  # _enrollment_authorised
    try:
        challenge = take_challenge(
            attempt.enrollment, purpose=FidoChallenge.Purpose.AUTHENTICATION, consent_id=attempt.consent.consent_id
        )
        new_count = fido.verify_assertion(
            assertion=attempt.assertion,
            expected_challenge=base64url_to_bytes(challenge.challenge),
            rp_id=challenge.rp_id,
            origins=fido.client_origins(attempt.client),
            credential_id=credential.credential_id,
            public_key=bytes(credential.public_key),
            sign_count=credential.sign_count,
        )
    except FidoVerificationFailed as exc:
        return Refusal(Risk(f"{exc.code}: {exc.detail}"))
    credential.sign_count = new_count
    credential.last_used_at = clock.now()
    credential.save(update_fields=["sign_count", "last_used_at"])
    return None


def _debtor_account_matches(attempt: Attempt) -> Refusal | None:
    debtor = attempt.enrollment.debtor_account
    if debtor is None or (attempt.consent.debtor_account is not None and attempt.consent.debtor_account != debtor):
        return Refusal(
            DebtorAccountMismatch(
                "A conta de débito informada pelo iniciador não condiz com a conta de débito vinculada ao dispositivo."
            ),
            ConsentRejectionReason.CONTA_NAO_PERMITE_PAGAMENTO,
        )
    return None


def _platform_signals_sent(attempt: Attempt) -> Refusal | None:
    if attempt.enrollment.platform not in (FidoPlatform.ANDROID, FidoPlatform.IOS):
        return None
    missing = [name for name in MOBILE_SIGNALS if name not in attempt.risk_signals]
    if missing:
        return Refusal(
            MissingPlatformSignals(
                f"Sinais obrigatórios para {attempt.enrollment.platform} não enviados: {', '.join(missing)}."
            )
        )
    return None


# In the order a TPP can act on: the enrollment, the consent, the assertion, then the business rules.
CHECKS: tuple[Callable[[Attempt], Refusal | None], ...] = (
    _enrollment_authorised,
    _consent_awaiting,
    _assertion_verified,
    _debtor_account_matches,
    _platform_signals_sent,
)


def _authorise(attempt: Attempt, *, actor: str) -> tuple[PaymentConsent, Refusal | None]:
    debtor = attempt.enrollment.debtor_account
    assert debtor is not None  # _debtor_account_matches
    consent_id = attempt.consent.consent_id
    try:
        consent = consent_authorise(
            consent_id=consent_id,
            debtor_account=debtor,
            actor=actor,
            approvals_required=consent_approvals_required(attempt.consent.business_entity_document),
        )
    except ConsentNotAuthorisable as exc:
        # Its savepoint rolled back; the consumed challenge and the counter stay as they are.
        return attempt.consent, Refusal(ConsentStatusNotAllowed(str(exc.detail)))
    if consent.status == ConsentStatus.REJECTED:
        # The bank's validation refused the payment (§5.2 reasons on the consent).
        return consent, Refusal(
            ConsentStatusNotAllowed(f"Consentimento rejeitado pela detentora: {consent.rejection_reason}.")
        )
    EnrollmentConsentAuthorisation.objects.create(
        enrollment=attempt.enrollment,
        consent_id=consent_id,
        amount=consent.amount,
        business_date=business_date(),
        risk_signals=attempt.risk_signals,
        created_at=clock.now(),
    )
    return consent, None


def consent_authorise_with_fido(
    *, client: TppClient, consent_id: str, enrollment_id: str, assertion: dict[str, Any], risk_signals: dict[str, Any]
) -> PaymentConsent:
    """Runs ``CHECKS``, then authorises the consent through ``consents.services.consent_authorise`` with the
    enrollment's debtor account: AUTHORISED for a single approver, PARTIALLY_ACCEPTED while a business account still
    needs approvers. The enrollment's limits are not checked here (line 520: "apenas em momento de liquidação")."""
    actor = f"enrollment:{enrollment_id}"
    with transaction.atomic():
        # The enrollment's row lock serialises its authorisations (counter, challenge); the consent is read under it
        # so a concurrent authorisation's outcome is seen.
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        attempt = Attempt(
            client=client,
            consent=consent_refresh(consent=consent_get_for_client(client=client, consent_id=consent_id)),
            enrollment=enrollment,
            credential=FidoCredential.objects.select_for_update().filter(enrollment=enrollment).first(),
            assertion=assertion,
            risk_signals=risk_signals,
        )
        refusal = next((found for check in CHECKS if (found := check(attempt)) is not None), None)
        consent = attempt.consent
        if refusal is None:
            consent, refusal = _authorise(attempt, actor=actor)
        if refusal is not None and consent.status in AWAITING:
            with contextlib.suppress(ConsentNotAuthorisable):  # it expired meanwhile: already final
                consent = consent_reject(
                    consent_id=consent_id, reason=refusal.reason, detail=refusal.error.detail, actor=actor
                )
    if refusal is not None:
        raise refusal.error
    return consent


def fido_sign_options_create(
    *, client: TppClient, enrollment_id: str, rp_id: str, platform: str, consent_id: str
) -> dict[str, Any]:
    """POST fido-sign-options: assertion options with a new challenge bound to the payment consent."""
    consent = consent_refresh(consent=consent_get_for_client(client=client, consent_id=consent_id))
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        error: RegulatedError | None = None
        options: dict[str, Any] = {}
        credential = FidoCredential.objects.filter(enrollment=enrollment).first()
        if enrollment.status != EnrollmentStatus.AUTHORISED or credential is None:
            error = EnrollmentStatusNotAllowed("O status do vínculo de conta é tal que não permite assinatura.")
        elif rp_id != enrollment.rp_id:
            error = RelyingPartyInvalid("O identificador da Relying Party informado não pode ser verificado.")
        elif consent.status != ConsentStatus.AWAITING_AUTHORISATION:
            error = ConsentStatusNotAllowed("O status do consentimento não permite autorização.")
        else:
            challenge = new_challenge(
                enrollment,
                purpose=FidoChallenge.Purpose.AUTHENTICATION,
                rp_id=rp_id,
                consent_id=consent_id,
                now=clock.now(),
            )
            options = fido.authentication_options(
                rp_id=rp_id, challenge=base64url_to_bytes(challenge.challenge), credential_id=credential.credential_id
            )
    if error is not None:
        raise error
    return options
