"""Every refusal of the Efí dialect as Efí writes it: ``{"nome", "mensagem"}`` with the status of the table in
docs/merchant.md. DRF's own refusals (malformed JSON, method, unknown path) are translated too: nothing else
reaches the merchant."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response

from merchant.errors import MerchantError

NAMES = {
    "invalid": "json_invalido",
    "schedule": "recorrencia_invalida",
    "unauthenticated": "nao_autorizado",
    "not_found": "pagamento_nao_encontrado",
    "idempotency": "idempotencia_invalida",
    "not_cancellable": "cancelamento_nao_permitido",
    "refused": "pagamento_recusado",
    "unavailable": "instituicao_indisponivel",
    "forbidden": "acesso_negado",
    "not_replaceable": "substituicao_nao_permitida",
    "not_modifiable": "alteracao_nao_permitida",
}


def efi_error(name: str, message: str, status: int) -> Response:
    return Response({"nome": name, "mensagem": message}, status=status)


def efi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MerchantError):
        message = f"{exc.message} (campo: {exc.field})" if exc.field else exc.message
        return efi_error(NAMES[exc.kind], message, exc.status_code)
    if isinstance(exc, exceptions.ParseError):
        return efi_error("json_invalido", "Corpo da requisição não é um JSON válido.", 400)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return efi_error("metodo_nao_permitido", "Método não permitido neste recurso.", 405)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return efi_error("json_invalido", "Envie o corpo como application/json.", 415)
    if isinstance(exc, exceptions.NotFound):
        return efi_error("recurso_nao_encontrado", "Recurso não encontrado.", 404)
    if isinstance(exc, exceptions.Throttled):
        return efi_error("limite_excedido", "Limite de requisições excedido.", 429)
    if isinstance(exc, exceptions.APIException):
        return efi_error("requisicao_invalida", str(exc.detail), exc.status_code)
    return None
