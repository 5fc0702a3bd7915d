"""ResponseError, the body of every refusal (``{"errors": [{"code", "title", "detail"}]}``)."""

from typing import Any

from connectors.http.contract.wire import ContractError, need

# Titles as listed in the spec's ResponseErrorValidatePaymentData / ResponseErrorCreatePixPayment descriptions.
_TITLES = {
    "COBRANCA_INVALIDA": "Cobrança inválida.",
    "DETALHE_PAGAMENTO_INVALIDO": "Detalhe de pagamento inválido.",
    "NAO_INFORMADO": "Não informado.",
    "PAGAMENTO_RECUSADO_DETENTORA": "Pagamento recusado detentora.",
    "PAGAMENTO_RECUSADO_SPI": "Pagamento recusado SPI.",
    "SALDO_INSUFICIENTE": "Saldo insuficiente.",
    "VALOR_ACIMA_LIMITE": "Valor acima do limite.",
    "VALOR_INVALIDO": "Valor inválido.",
    "FALHA_INFRAESTRUTURA": "Falha infraestrutura.",
    "CONTA_NAO_PERMITE_PAGAMENTO": "Conta não permite pagamento.",
    "QRCODE_INVALIDO": "QR Code inválido.",
    "PAGAMENTO_NAO_PERMITE_CANCELAMENTO": "Pagamento não permite cancelamento.",
}


def error_body(errors: list[tuple[str, str]]) -> dict[str, Any]:
    """ResponseError: ``{"errors": [{"code", "title", "detail"}]}``."""
    return {
        "errors": [
            {"code": code, "title": _TITLES.get(code, code.replace("_", " ").capitalize()), "detail": detail or code}
            for code, detail in errors
        ]
    }


def errors_from_body(body: Any) -> list[tuple[str, str]]:
    errors = need(body, "errors")
    if not isinstance(errors, list) or not errors:
        raise ContractError("errors must be a non-empty list")
    return [(str(need(error, "code")), str(error.get("detail") or "")) for error in errors]
