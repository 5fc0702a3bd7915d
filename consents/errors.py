"""Regulated errors of POST /consents (payments v4 §1.3, 422ResponseErrorCreateConsent)."""

from opusof.errors import RegulatedError


class PaymentMethodInvalid(RegulatedError):
    code = "FORMA_PAGAMENTO_INVALIDA"
    title = "Forma de pagamento inválida."


class PaymentDateInvalid(RegulatedError):
    code = "DATA_PAGAMENTO_INVALIDA"
    title = "Data de pagamento inválida."


class PaymentDetailInvalid(RegulatedError):
    code = "DETALHE_PAGAMENTO_INVALIDO"
    title = "Detalhe do pagamento inválido."


class NotInformed(RegulatedError):
    code = "NAO_INFORMADO"
    title = "Não informado."


class ConsentNotFound(RegulatedError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Consentimento não encontrado."


class ConsentNotAuthorisable(RegulatedError):
    """The customer tried to act on a consent that can no longer be authorised (consent pages render it)."""

    code = "CONSENTIMENTO_INVALIDO"
    title = "Consentimento não pode ser autorizado."
