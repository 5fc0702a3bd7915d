"""Regulated errors of automatic payments v2 that payments v4 does not already name (§ info.description 2-4 and
the 422 enums of each operation). Codes shared with v4 are imported from consents/ and payments/."""

from consents.errors import NotInformed, PaymentDateInvalid, PaymentDetailInvalid
from opusof.errors import RegulatedError
from payments.errors import (
    AboveLimit,
    CancellationNotAllowed,
    ConsentInvalid,
    ConsentPendingAuthorisation,
    InsufficientFunds,
    InvalidAmount,
    PaymentDiffersFromConsent,
    RefusedByHolder,
)

__all__ = [
    "AboveLimit",
    "CancellationNotAllowed",
    "ConsentInvalid",
    "ConsentPendingAuthorisation",
    "InsufficientFunds",
    "InvalidAmount",
    "NotInformed",
    "PaymentDateInvalid",
    "PaymentDetailInvalid",
    "PaymentDiffersFromConsent",
    "RefusedByHolder",
]


class FeatureNotEnabled(RegulatedError):
    code = "FUNCIONALIDADE_NAO_HABILITADA"
    title = "Funcionalidade não habilitada."


class RecurringConsentNotFound(RegulatedError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Consentimento não encontrado."


class RecurringPaymentNotFound(RegulatedError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Pagamento não encontrado."


class OtherClientsResource(RegulatedError):
    """ "a detentora deve validar que o pagamento consultado pertence ao ClientId que o criou e, caso haja
    divergências, retorne um erro HTTP 400" (Controle de acesso)."""

    status_code = 400
    code = "PARAMETRO_INVALIDO"
    title = "Recurso de outro cliente."


class ConsentNotCancellable(RegulatedError):
    code = "CONSENTIMENTO_NAO_PERMITE_CANCELAMENTO"
    title = "Consentimento não permite cancelamento."


class FieldNotAllowed(RegulatedError):
    code = "CAMPO_NAO_PERMITIDO"
    title = "Campo não permitido."


class InsufficientPermission(RegulatedError):
    code = "PERMISSAO_INSUFICIENTE"
    title = "Permissão insuficiente."


class EditionInvalid(RegulatedError):
    code = "DETALHE_EDICAO_INVALIDO"
    title = "Detalhe da edição inválido."


class RiskSignalsMissing(RegulatedError):
    code = "FALTAM_SINAIS_OBRIGATORIOS_PLATAFORMA"
    title = "Faltam sinais obrigatórios da plataforma."


class PeriodValueLimitExceeded(RegulatedError):
    code = "LIMITE_PERIODO_VALOR_EXCEDIDO"
    title = "Limite de valor do período excedido."


class PeriodQuantityLimitExceeded(RegulatedError):
    code = "LIMITE_PERIODO_QUANTIDADE_EXCEDIDO"
    title = "Limite de quantidade do período excedido."


class TotalLimitExceeded(RegulatedError):
    code = "LIMITE_VALOR_TOTAL_CONSENTIMENTO_EXCEDIDO"
    title = "Limite de valor total do consentimento excedido."


class TransactionLimitExceeded(RegulatedError):
    code = "LIMITE_VALOR_TRANSACAO_CONSENTIMENTO_EXCEDIDO"
    title = "Limite de valor por transação do consentimento excedido."


class RetryLimitExceeded(RegulatedError):
    code = "LIMITE_TENTATIVAS_EXCEDIDO"
    title = "Limite de tentativas excedido."


class OutsideAllowedWindow(RegulatedError):
    code = "FORA_PRAZO_PERMITIDO"
    title = "Fora do prazo permitido."


class RetryDetailInvalid(RegulatedError):
    code = "DETALHE_TENTATIVA_INVALIDO"
    title = "Detalhe da tentativa inválido."


class CancellationOutsideWindow(RegulatedError):
    code = "CANCELAMENTO_FORA_PERIODO_PERMITIDO"
    title = "Cancelamento fora do período permitido."


LIMIT_ERRORS: dict[str, type[RegulatedError]] = {
    cls.code: cls
    for cls in (PeriodValueLimitExceeded, PeriodQuantityLimitExceeded, TotalLimitExceeded, TransactionLimitExceeded)
}

# Bank refusals at POST /pix/recurring-payments become the 422 of the same code (§4.2.2).
BANK_REFUSALS: dict[str, type[RegulatedError]] = {
    cls.code: cls
    for cls in (InsufficientFunds, AboveLimit, InvalidAmount, PaymentDetailInvalid, RefusedByHolder, NotInformed)
}


class ConsentNotAuthorisable(RegulatedError):
    """The customer (consent pages) acted on a recurring consent that is not awaiting them."""

    code = "CONSENTIMENTO_INVALIDO"
    title = "Consentimento não pode ser autorizado."
