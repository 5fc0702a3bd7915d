"""Regulated errors of the Pix payment endpoints (payments v4 §2.2, EnumErrorsCreatePayment)."""

from consents.errors import NotInformed, PaymentDetailInvalid
from opusof.errors import RegulatedError

__all__ = ["NotInformed", "PaymentDetailInvalid"]  # the same regulated codes as at consent creation


class InsufficientFunds(RegulatedError):
    code = "SALDO_INSUFICIENTE"
    title = "Saldo insuficiente."


class AboveLimit(RegulatedError):
    code = "VALOR_ACIMA_LIMITE"
    title = "Acima do limite."


class InvalidAmount(RegulatedError):
    code = "VALOR_INVALIDO"
    title = "Valor inválido."


class InvalidCharge(RegulatedError):
    code = "COBRANCA_INVALIDA"
    title = "Cobrança inválida."


class ConsentInvalid(RegulatedError):
    code = "CONSENTIMENTO_INVALIDO"
    title = "Consentimento inválido."


class ConsentPendingAuthorisation(RegulatedError):
    code = "CONSENTIMENTO_PENDENTE_AUTORIZACAO"
    title = "Consentimento pendente de autorização."


class PaymentDiffersFromConsent(RegulatedError):
    code = "PAGAMENTO_DIVERGENTE_CONSENTIMENTO"
    title = "Divergência entre pagamento e consentimento."


class RefusedByHolder(RegulatedError):
    code = "PAGAMENTO_RECUSADO_DETENTORA"
    title = "Pagamento recusado pela detentora."


class CancellationNotAllowed(RegulatedError):
    code = "PAGAMENTO_NAO_PERMITE_CANCELAMENTO"
    title = "Pagamento não permite cancelamento."


class PaymentNotFound(RegulatedError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Pagamento não encontrado."


# Bank refusals at POST /pix/payments become the 422 of the same code (payments v4 §2.2.2).
BANK_REFUSALS: dict[str, type[RegulatedError]] = {
    cls.code: cls
    for cls in (
        InsufficientFunds,
        AboveLimit,
        InvalidAmount,
        InvalidCharge,
        PaymentDetailInvalid,
        RefusedByHolder,
        NotInformed,
    )
}
