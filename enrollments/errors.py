"""Regulated errors of enrollments v2 (enrollments-2.1.0.yml, the 422 schemas of each operation)."""

from opusof.errors import RegulatedError


class EnrollmentNotFound(RegulatedError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Vínculo de conta não encontrado."


# --- POST /enrollments (422ResponseErrorCreateEnrollment) ------------------------------------------------------------


class PermissionsInvalid(RegulatedError):
    code = "PERMISSOES_INVALIDAS"
    title = "Permissões inválidas."


class AccountInvalid(RegulatedError):
    code = "CONTA_INVALIDA"
    title = "Conta inválida."


# --- PATCH /enrollments/{id} (422ResponseErrorCancelEnrollment) -------------------------------------------------------


class EnrollmentStatusInvalid(RegulatedError):
    code = "STATUS_INVALIDO"
    title = "Status inválido."


class RejectionReasonRequired(RegulatedError):
    code = "MOTIVO_REJEICAO"
    title = "Motivo de rejeição não especificado."


class RejectedOtherWithoutDetails(RegulatedError):
    code = "REJEITADO_OUTRO_SEM_DETALHES"
    title = "O campo additionalInformation é obrigatório."


class RevocationReasonRequired(RegulatedError):
    code = "MOTIVO_REVOGACAO"
    title = "Motivo de revogação não especificado."


class RevokedOtherWithoutDetails(RegulatedError):
    code = "REVOGADO_OUTRO_SEM_DETALHES"
    title = "O campo additionalInformation é obrigatório."


# --- risk signals, FIDO options and registration, consent authorisation ----------------------------------------------


class EnrollmentStatusNotAllowed(RegulatedError):
    code = "STATUS_VINCULO_INVALIDO"
    title = "Status do vínculo de conta inválido."


class MissingPlatformSignals(RegulatedError):
    code = "FALTAM_SINAIS_OBRIGATORIOS_DA_PLATAFORMA"
    title = "Falta de sinais obrigatórios para a plataforma do usuário."


class RelyingPartyInvalid(RegulatedError):
    code = "RP_INVALIDA"
    title = "Relying party inválida."


class ConsentStatusNotAllowed(RegulatedError):
    code = "STATUS_CONSENTIMENTO_INVALIDO"
    title = "Status do consentimento inválido."


class Risk(RegulatedError):
    code = "RISCO"
    title = "Validação síncrona dos sinais de risco impediram a ativação do consentimento."


class DebtorAccountMismatch(RegulatedError):
    code = "CONTA_DEBITO_DIVERGENTE_CONSENTIMENTO_VINCULO"
    title = "A conta de débito informada pelo iniciador não condiz com a conta de débito vinculada ao dispositivo."


class FidoVerificationFailed(RegulatedError):
    """A WebAuthn check failed (422ResponseErrorFidoRegistration codes). Subclasses name the check."""


class FidoOriginInvalid(FidoVerificationFailed):
    code = "ORIGEM_FIDO_INVALIDA"
    title = '"Origin" não pode ser verificada.'


class FidoRpIdHashInvalid(FidoVerificationFailed):
    code = "RP_ID_HASH_INVALIDO"
    title = '"RpIdHash" não pode ser verificado.'


class FidoChallengeInvalid(FidoVerificationFailed):
    code = "CHALLENGE_INVALIDO"
    title = "Challenge inválido."


class FidoPublicKeyInvalid(FidoVerificationFailed):
    code = "PUBLIC_KEY_INVALIDA"
    title = "Chave pública inválida."


class FidoExtensionInvalid(FidoVerificationFailed):
    code = "EXTENSION_INVALIDA"
    title = "Extensões inválidas."


# --- POST /pix/payments with the enrollment's token (payments-4.0.0.yml, security NonRedirectAuthorizationCode) -----


class EnrollmentTokenInvalid(RegulatedError):
    """payments v4 §2.1.2 (401 UNAUTHORIZED): the token's enrollment is no longer AUTHORISED, so the token that
    stands for it is no longer a valid access token."""

    status_code = 401
    code = "UNAUTHORIZED"
    title = "Não autorizado."


class ConsentNotAuthorisedByEnrollment(RegulatedError):
    """payments v4 components.responses.Forbidden ("O token tem escopo incorreto"): the token's
    ``enrollment:{enrollmentId}`` scope reaches only the consents that enrollment authorised."""

    status_code = 403
    code = "FORBIDDEN"
    title = "Acesso negado."
