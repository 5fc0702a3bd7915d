"""Each dialect renders the domain's refusals and DRF's own in its own shape (merchant/error_kinds.py feeds both)."""

import pytest
from rest_framework import exceptions

from merchant.belvo.errors import belvo_exception_handler
from merchant.efi.errors import efi_exception_handler
from merchant.errors import NotFound


@pytest.mark.parametrize(
    ("exc", "status", "name", "message"),
    [
        (
            NotFound("Pagamento não encontrado.", field="idRec"),
            404,
            "pagamento_nao_encontrado",
            "Pagamento não encontrado. (campo: idRec)",
        ),
        (exceptions.ParseError(), 400, "json_invalido", "Corpo da requisição não é um JSON válido."),
        (exceptions.MethodNotAllowed("DELETE"), 405, "metodo_nao_permitido", "Método não permitido neste recurso."),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "json_invalido", "Envie o corpo como application/json."),
        (exceptions.NotFound(), 404, "recurso_nao_encontrado", "Recurso não encontrado."),
        (exceptions.Throttled(), 429, "limite_excedido", "Limite de requisições excedido."),
        (exceptions.PermissionDenied("Nope."), 403, "requisicao_invalida", "Nope."),
    ],
)
def test_efi_renders_every_refusal_as_nome_and_mensagem(exc, status, name, message):
    response = efi_exception_handler(exc, {})

    assert response is not None
    assert (response.status_code, response.data) == (status, {"nome": name, "mensagem": message})


@pytest.mark.parametrize(
    ("exc", "status", "code", "message", "field"),
    [
        (NotFound("Payment not found.", field="id"), 404, "not_found", "Payment not found.", "id"),
        (exceptions.ParseError(), 400, "invalid", "The request body is not valid JSON.", None),
        (exceptions.MethodNotAllowed("DELETE"), 405, "method_not_allowed", "Method not allowed.", None),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "invalid", "Send the body as application/json.", None),
        (exceptions.NotFound(), 404, "not_found", "Not found.", None),
        (exceptions.Throttled(wait=None), 429, "invalid", str(exceptions.Throttled(wait=None).detail), None),
    ],
)
def test_belvo_renders_every_refusal_as_a_list_of_errors(exc, status, code, message, field):
    response = belvo_exception_handler(exc, {})

    assert response is not None
    [error] = response.data
    assert response.status_code == status
    assert (error["code"], error["message"], error["field"]) == (code, message, field)
    assert len(error["request_id"]) == 32


def test_anything_else_is_left_to_drf():
    assert efi_exception_handler(ValueError("bug"), {}) is None
    assert belvo_exception_handler(ValueError("bug"), {}) is None
