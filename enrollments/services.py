"""Writes on enrollments (enrollments-2.1.0.yml). Every status change goes through ``_transition`` (history +
timestamps + the next waiting deadline). Services that must both write and answer with a regulated error (a failed
FIDO registration rejects the enrollment; a divergent account rejects the consent) commit their writes first and
raise after their own atomic block, so the error never rolls the write back."""

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from connectors.interfaces import AccountRef, ConnectorUnavailable
from connectors.registry import account_discovery
from consents.expiry import consent_refresh
from consents.models import ConsentStatus
from consents.selectors import consent_get_for_client
from consents.validation import check_account
from enrollments import fido
from enrollments.errors import (
    AccountInvalid,
    ConsentNotAuthorisedByEnrollment,
    ConsentStatusNotAllowed,
    EnrollmentNotFound,
    EnrollmentStatusInvalid,
    EnrollmentStatusNotAllowed,
    EnrollmentTokenInvalid,
    FidoChallengeInvalid,
    FidoPublicKeyInvalid,
    FidoVerificationFailed,
    PermissionsInvalid,
    RejectedOtherWithoutDetails,
    RejectionReasonRequired,
    RelyingPartyInvalid,
    RevocationReasonRequired,
    RevokedOtherWithoutDetails,
)
from enrollments.expiry import lock_enrollment
from enrollments.models import (
    CancelledFrom,
    Enrollment,
    EnrollmentConsentAuthorisation,
    EnrollmentPermission,
    EnrollmentRejectionReason,
    EnrollmentRevocationReason,
    EnrollmentStatus,
    EnrollmentStatusChange,
    FidoChallenge,
    FidoCredential,
)
from enrollments.transitions import enrollment_transition, waiting_deadline
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.models import TppClient
from opusof.ofb import account_from_wire
from opusof.timeutil import business_tz
from payments.models import PaymentStatus, PixPayment

# Registration options an enrollment may ask for before it is rejected (REJEITADO_MAXIMO_CHALLENGES_ATINGIDO).
MAX_REGISTRATION_CHALLENGES = 5


# --- POST /enrollments, risk signals, the customer's approval at the bank ---------------------------------------------


def _check_account(data: dict[str, Any], account: AccountRef) -> None:
    """CONTA_INVALIDA: the account must be one of ours that the logged user (or the business) may pay from."""
    if account.ispb != settings.OPUSOF_ISPB:
        raise AccountInvalid("A conta informada não pertence a esta instituição.")
    business = (data.get("businessEntity") or {}).get("document", {}).get("identification")
    try:
        accounts = account_discovery().discover_accounts(
            customer_document=data["loggedUser"]["document"]["identification"], business_document=business
        )
    except ConnectorUnavailable:
        # The bank checks the account again when the customer approves; creation need not fail on an outage.
        return
    if not any(found.account == account and found.may_pay for found in accounts):
        raise AccountInvalid("A conta informada inexiste ou não é compatível com o fluxo sem redirecionamento.")


def check_permissions_supported(body: Any) -> None:
    """PERMISSOES_INVALIDAS for permissions "que contêm valores não suportados para esta operação"
    (422ResponseErrorCreateEnrollment, enrollments-2.1.0.yml line 636), which the schema's enum alone would answer
    PARAMETRO_INVALIDO."""
    data = body.get("data") if isinstance(body, dict) else None
    permissions = data.get("permissions") if isinstance(data, dict) else None
    if not isinstance(permissions, list) or not all(isinstance(value, str) for value in permissions):
        return
    unsupported = sorted(set(permissions) - set(EnrollmentPermission.values))
    if unsupported:
        raise PermissionsInvalid(f"Permissões não suportadas para esta operação: {', '.join(unsupported)}.")


def enrollment_create(*, client: TppClient, data: dict[str, Any]) -> Enrollment:
    """POST /enrollments: stores the enrollment AWAITING_RISK_SIGNALS."""
    permissions = list(data["permissions"])
    if EnrollmentPermission.PAYMENTS_INITIATE not in permissions:
        raise PermissionsInvalid('As permissões associadas ao vínculo de conta não contêm "PAYMENTS_INITIATE".')
    now = timezone.now()
    enrollment = Enrollment(
        client=client,
        created_at=now,
        status_updated_at=now,
        deadline_at=waiting_deadline(EnrollmentStatus.AWAITING_RISK_SIGNALS, now),
        logged_user_document=data["loggedUser"]["document"]["identification"],
        business_entity_document=(data.get("businessEntity") or {}).get("document", {}).get("identification", ""),
        permissions=permissions,
        enrollment_name=data.get("enrollmentName", ""),
        user_handle=bytes_to_base64url(secrets.token_bytes(32)),
        request_data=data,
    )
    if debtor := data.get("debtorAccount"):
        check_account(debtor, field="debtorAccount")  # issuer for CACC/SVGS (enrollments-2.1.0.yml line 1566)
        account = account_from_wire(debtor)
        _check_account(data, account)
        enrollment.set_debtor_account(account)
    with transaction.atomic():
        enrollment.save()
        EnrollmentStatusChange.objects.create(
            enrollment=enrollment,
            to_status=enrollment.status,
            actor=f"tpp:{client.client_id}",
            reason="created",
            created_at=now,
        )
    return enrollment


def enrollment_risk_signals(*, client: TppClient, enrollment_id: str, signals: dict[str, Any]) -> Enrollment:
    """POST /enrollments/{id}/risk-signals: AWAITING_RISK_SIGNALS → AWAITING_ACCOUNT_HOLDER_VALIDATION."""
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        if enrollment.status != EnrollmentStatus.AWAITING_RISK_SIGNALS:
            error: RegulatedError | None = EnrollmentStatusNotAllowed(f"O vínculo de conta está {enrollment.status}.")
        else:
            error = None
            enrollment_transition(
                enrollment,
                lambda: enrollment.receive_risk_signals(signals=signals),
                actor=f"tpp:{client.client_id}",
                now=timezone.now(),
            )
    if error is not None:
        raise error  # after commit: an expiry applied on the way stays applied
    return enrollment


def enrollment_authorise(
    *,
    enrollment_id: str,
    debtor_account: AccountRef,
    actor: str,
    transaction_limit: Decimal,
    daily_limit: Decimal | None = None,
    customer_document: str | None = None,
    customer_name: str = "",
) -> Enrollment:
    """The customer approved the enrollment at the bank (the consent journey calls this):
    AWAITING_ACCOUNT_HOLDER_VALIDATION → AWAITING_ENROLLMENT with the debtor account and the limits the customer set.

    ``transaction_limit`` is required from AWAITING_ENROLLMENT on (ResponseEnrollment.transactionLimit);
    ``daily_limit`` only when the customer set one below the account's Pix limit. Raises STATUS_VINCULO_INVALIDO
    when the enrollment cannot be approved (expired, already approved) and CONTA_INVALIDA when the TPP fixed another
    debtor account or ``customer_document`` is not the logged user of the enrollment."""
    if transaction_limit <= 0 or (daily_limit is not None and daily_limit <= 0):
        raise ParameterInvalid("Os limites do vínculo devem ser positivos.")
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id)
        error: RegulatedError | None = None
        if enrollment.status != EnrollmentStatus.AWAITING_ACCOUNT_HOLDER_VALIDATION:
            error = EnrollmentStatusNotAllowed(f"O vínculo de conta está {enrollment.status}.")
        elif customer_document is not None and customer_document not in (
            enrollment.logged_user_document,
            enrollment.business_entity_document,
        ):
            error = AccountInvalid("O cliente autenticado não é o usuário do vínculo de conta.")
        elif enrollment.debtor_account is not None and enrollment.debtor_account != debtor_account:
            error = AccountInvalid("A conta escolhida difere da conta de débito informada no vínculo.")
        else:
            enrollment.customer_name = customer_name[:140]
            enrollment_transition(
                enrollment,
                lambda: enrollment.validate_account_holder(
                    account=debtor_account, transaction_limit=transaction_limit, daily_limit=daily_limit
                ),
                actor=actor,
                now=timezone.now(),
            )
    if error is not None:
        raise error
    return enrollment


# --- PATCH /enrollments/{id} and staff revocation ---------------------------------------------------------------------


def enrollment_cancel(
    *,
    enrollment_id: str,
    client: TppClient | None,
    rejection_reason: str | None,
    revocation_reason: str | None,
    cancelled_from: str,
    actor: str,
    document: str = "",
    rel: str = "",
    additional_information: str = "",
) -> Enrollment:
    """Rejects (not yet AUTHORISED) or revokes (AUTHORISED) an enrollment, irreversibly (deleteEnrollment).

    The reason must fit the status: a rejection reason for the AWAITING_* states (else MOTIVO_REVOGACAO), a
    revocation reason for AUTHORISED (else MOTIVO_REJEICAO is not what is missing: MOTIVO_REVOGACAO is);
    ``*_OUTRO`` needs ``additional_information``; a final enrollment answers STATUS_INVALIDO."""
    with transaction.atomic():
        enrollment = lock_enrollment(enrollment_id=enrollment_id, client=client)
        error: RegulatedError | None = None
        now = timezone.now()
        if enrollment.status in (EnrollmentStatus.REJECTED, EnrollmentStatus.REVOKED):
            error = EnrollmentStatusInvalid("O status do vínculo de conta não permite cancelamento.")
        elif enrollment.status == EnrollmentStatus.AUTHORISED:
            if not revocation_reason:
                error = RevocationReasonRequired(
                    "A revogação do vínculo de conta deve estar associada a um motivo de revogação."
                )
            elif revocation_reason == EnrollmentRevocationReason.REVOGADO_OUTRO and not additional_information:
                error = RevokedOtherWithoutDetails(
                    "O uso do motivo REVOGADO_OUTRO deve estar acompanhado de descrição (additionalInformation)."
                )
            else:
                reason = revocation_reason
                enrollment_transition(
                    enrollment,
                    lambda: enrollment.revoke(
                        reason=reason,
                        cancelled_from=cancelled_from,
                        document=document,
                        rel=rel,
                        info=additional_information,
                    ),
                    actor=actor,
                    reason=reason,
                    now=now,
                )
        elif not rejection_reason:
            error = RejectionReasonRequired(
                "A rejeição do vínculo de conta deve estar associada a um motivo de rejeição."
            )
        elif rejection_reason == EnrollmentRejectionReason.REJEITADO_OUTRO and not additional_information:
            error = RejectedOtherWithoutDetails(
                "O uso do motivo REJEITADO_OUTRO, deve estar acompanhado de descrição (additionalInformation)."
            )
        else:
            reason = rejection_reason
            enrollment_transition(
                enrollment,
                lambda: enrollment.reject(
                    reason=reason,
                    cancelled_from=cancelled_from,
                    document=document,
                    rel=rel,
                    info=additional_information,
                ),
                actor=actor,
                reason=reason,
                now=now,
            )
    if error is not None:
        raise error
    return enrollment


# --- FIDO2 registration -----------------------------------------------------------------------------------------------


def _challenge_value() -> str:
    """33 random bytes whose base64url has no ``-``/``_`` (rejection sampling, ~4 draws): the spec types the
    challenge ``format: byte`` (RFC 4648 base64) yet asks for "base64url sem padding"; such a value is both."""
    while True:
        value = bytes_to_base64url(secrets.token_bytes(33))
        if "-" not in value and "_" not in value:
            return value


def _new_challenge(
    enrollment: Enrollment, *, purpose: str, rp_id: str, now: dt.datetime, consent_id: str = ""
) -> FidoChallenge:
    """A fresh challenge; the earlier unused ones of the same purpose (and consent) stop being valid."""
    FidoChallenge.objects.filter(
        enrollment=enrollment, purpose=purpose, consent_id=consent_id, used_at__isnull=True
    ).update(used_at=now)
    return FidoChallenge.objects.create(
        enrollment=enrollment,
        purpose=purpose,
        challenge=_challenge_value(),
        rp_id=rp_id,
        consent_id=consent_id,
        created_at=now,
        expires_at=now + dt.timedelta(milliseconds=fido.CHALLENGE_TTL_MS),
    )


def take_challenge(enrollment: Enrollment, *, purpose: str, consent_id: str = "") -> FidoChallenge:
    """Locks and consumes the enrollment's current challenge (single use, even when verification then fails)."""
    now = timezone.now()
    challenge = (
        FidoChallenge.objects.select_for_update()
        .filter(enrollment=enrollment, purpose=purpose, consent_id=consent_id, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if challenge is None:
        raise FidoChallengeInvalid("Não há challenge válido: gere novas opções FIDO2 (o challenge é de uso único).")
    challenge.used_at = now
    challenge.save(update_fields=["used_at"])
    if challenge.expires_at < now:
        raise FidoChallengeInvalid("O challenge expirou; gere novas opções FIDO2.")
    return challenge


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
                now=timezone.now(),
            )
        else:
            now = timezone.now()
            challenge = _new_challenge(enrollment, purpose=FidoChallenge.Purpose.REGISTRATION, rp_id=rp_id, now=now)
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
        now = timezone.now()
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


# --- FIDO2 assertion: payment consent authorisation without redirect --------------------------------------------------


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
            challenge = _new_challenge(
                enrollment,
                purpose=FidoChallenge.Purpose.AUTHENTICATION,
                rp_id=rp_id,
                consent_id=consent_id,
                now=timezone.now(),
            )
            options = fido.authentication_options(
                rp_id=rp_id, challenge=base64url_to_bytes(challenge.challenge), credential_id=credential.credential_id
            )
    if error is not None:
        raise error
    return options


# --- POST /pix/payments with the enrollment's token (payments-4.0.0.yml security NonRedirectAuthorizationCode) -----


def enrollment_lock_for_payment(*, client: TppClient, enrollment_id: str, consent_id: str) -> Enrollment:
    """Row-locks the enrollment a non-redirect token names (scope ``enrollment:{enrollmentId}``) for a payment of
    ``consent_id``; the lock serialises the enrollment's daily limit. 401 unless the enrollment is the client's and
    AUTHORISED; 403 unless ``consent_id`` was authorised through this very enrollment (authorizeConsent)."""
    enrollment = Enrollment.objects.select_for_update().filter(enrollment_id=enrollment_id, client=client).first()
    if enrollment is None or enrollment.status != EnrollmentStatus.AUTHORISED:
        raise EnrollmentTokenInvalid("O vínculo de conta do token não está AUTHORISED.")
    if not EnrollmentConsentAuthorisation.objects.filter(enrollment=enrollment, consent_id=consent_id).exists():
        raise ConsentNotAuthorisedByEnrollment(
            f"O consentimento {consent_id} não foi autorizado por meio do vínculo de conta do token."
        )
    return enrollment


def _paid_on(enrollment: Enrollment, day: dt.date) -> Decimal:
    """What the enrollment's payments settle (or settled) on ``day``: immediate ones created that business day and
    scheduled ones due that day, neither rejected nor cancelled."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=business_tz())
    consents = EnrollmentConsentAuthorisation.objects.filter(enrollment=enrollment).values("consent_id")
    total = (
        PixPayment.objects.filter(consent__consent_id__in=consents)
        .exclude(status__in=[PaymentStatus.RJCT, PaymentStatus.CANC])
        .filter(
            Q(scheduled_date=day)
            | Q(scheduled_date__isnull=True, created_at__gte=start, created_at__lt=start + dt.timedelta(days=1))
        )
        .aggregate(total=Sum("amount"))["total"]
    )
    return total or Decimal("0.00")


def enrollment_limit_problem(enrollment: Enrollment, *, amount: Decimal, day: dt.date) -> str | None:
    """The enrollment's limits (ResponseEnrollment transactionLimit / dailyLimit) against a payment settling on
    ``day``; checked at settlement only (authorizeConsent description, enrollments-2.1.0.yml line 520). Caller holds
    the enrollment's row lock (``enrollment_lock_for_payment``)."""
    if enrollment.transaction_limit is not None and amount > enrollment.transaction_limit:
        return f"Valor acima do limite por transação do vínculo de conta ({enrollment.transaction_limit})."
    if enrollment.daily_limit is not None and _paid_on(enrollment, day) + amount > enrollment.daily_limit:
        return f"Valor acima do limite diário do vínculo de conta ({enrollment.daily_limit})."
    return None


def enrollment_cancel_by_customer(*, enrollment_id: str, document: str) -> Enrollment:
    """The customer cancels an enrollment on the bank's pages: revoked (REVOGADO_MANUALMENTE) when AUTHORISED, else
    rejected (REJEITADO_MANUALMENTE), ``cancelledFrom`` DETENTORA and ``cancelledBy`` the customer's CPF.
    Someone else's enrollment is indistinguishable from a missing one."""
    owned = Enrollment.objects.filter(enrollment_id=enrollment_id, logged_user_document=document).exists()
    if not owned:
        raise EnrollmentNotFound(f"Vínculo de conta {enrollment_id} não encontrado.")
    authorised = Enrollment.objects.filter(enrollment_id=enrollment_id, status=EnrollmentStatus.AUTHORISED).exists()
    return enrollment_cancel(
        enrollment_id=enrollment_id,
        client=None,
        rejection_reason=None if authorised else EnrollmentRejectionReason.REJEITADO_MANUALMENTE,
        revocation_reason=EnrollmentRevocationReason.REVOGADO_MANUALMENTE if authorised else None,
        cancelled_from=CancelledFrom.DETENTORA,
        actor=f"customer:{document}",
        document=document,
        rel="CPF",
    )
