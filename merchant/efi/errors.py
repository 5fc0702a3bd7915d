"""Every refusal of the Efí dialect as Efí writes it: ``{"nome", "mensagem"}`` with the status of the table in
docs/merchant.md. DRF's own refusals (malformed JSON, method, unknown path) are translated too: nothing else
reaches the merchant."""

from typing import Any

from rest_framework.response import Response

from merchant.error_kinds import as_merchant_error

NAMES = {
    "invalid": "json_invalido",
    "schedule": "recorrencia_invalida",
    "unauthenticated": "nao_autorizado",
    "not_found": "pagamento_nao_encontrado",
    "idempotency": "idempotencia_invalida",
    "not_cancellable": "cancelamento_nao_permitido",
    "refused": "pagamento_recusado",
    "unavailable": "instituicao_indisponivel",
    "malformed_body": "json_invalido",
    "method": "metodo_nao_permitido",
    "media_type": "json_invalido",
    "no_route": "recurso_nao_encontrado",
    "throttled": "limite_excedido",
    "framework": "requisicao_invalida",
    "forbidden": "acesso_negado",
    "not_replaceable": "substituicao_nao_permitida",
    "not_modifiable": "alteracao_nao_permitida",
    "not_refundable": "devolucao_nao_permitida",
    "refund_exceeded": "valor_devolucao_atingido",
}
# Efí's words for DRF's refusals; any other refusal says its own message.
MESSAGES = {
    "malformed_body": "Corpo da requisição não é um JSON válido.",
    "method": "Método não permitido neste recurso.",
    "media_type": "Envie o corpo como application/json.",
    "no_route": "Recurso não encontrado.",
    "throttled": "Limite de requisições excedido.",
}


def efi_error(name: str, message: str, status: int) -> Response:
    return Response({"nome": name, "mensagem": message}, status=status)


def efi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    error = as_merchant_error(exc)
    if error is None:
        return None
    message = MESSAGES.get(error.kind, error.message)
    if error.field:
        message = f"{message} (campo: {error.field})"
    return efi_error(NAMES[error.kind], message, error.status_code)
