"""Writes on enrollments (enrollments-2.1.0.yml): creation, risk signals, the customer's approval at the bank,
rejection and revocation. Every status change goes through ``enrollments.transitions.enrollment_transition``
(history + timestamps + the next waiting deadline); expiry is ``enrollments.expiry``; FIDO registration is
``enrollments.registration``, the authorisation of a payment consent with FIDO ``enrollments.consent_authorisation``
and the enrollment's limits on payments ``enrollments.payment_limits``.

Services that must both write and answer with a regulated error commit their writes first and raise after their own
atomic block, so the error never rolls the write back."""

import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from webauthn.helpers import bytes_to_base64url

from connectors.interfaces import AccountRef, ConnectorUnavailable
from connectors.registry import account_discovery
from consents.validation import check_account
from enrollments.errors import (
    AccountInvalid,
    EnrollmentNotFound,
    EnrollmentStatusInvalid,
    EnrollmentStatusNotAllowed,
    PermissionsInvalid,
    RejectedOtherWithoutDetails,
    RejectionReasonRequired,
    RevocationReasonRequired,
    RevokedOtherWithoutDetails,
)
from enrollments.expiry import lock_enrollment
from enrollments.models import (
    CancelledFrom,
    Enrollment,
    EnrollmentPermission,
    EnrollmentRejectionReason,
    EnrollmentRevocationReason,
    EnrollmentStatus,
    EnrollmentStatusChange,
)
from enrollments.transitions import enrollment_transition, waiting_deadline
from opusof import clock
from opusof.errors import ParameterInvalid, RegulatedError
from opusof.models import TppClient
from opusof.ofb import account_from_wire

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
    now = clock.now()
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
                now=clock.now(),
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
                now=clock.now(),
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
        now = clock.now()
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
