"""What the gateway answers an application when something goes wrong: the Opus ``ResponseError`` body
(``{"errors":[{"code","title","detail"}],"meta":{...}}``) with ``x-origin-error`` saying whose fault it is
(en-opusTPP-iniciacaoPagamentos.yml EnumOriginError) and, for a holder's error, ``x-error-source-url``."""

from typing import Any


class InitiatorError(Exception):
    status_code = 422
    code = "PARAMETRO_INVALIDO"
    title = "Parâmetro inválido."
    origin = "opus-tpp"

    def __init__(self, detail: str | None = None, *, code: str | None = None, source_url: str = "") -> None:
        self.code = code or self.code
        self.detail = detail or self.title
        self.source_url = source_url
        super().__init__(f"{self.code}: {self.detail}")

    def body(self) -> dict[str, Any]:
        return {"errors": [{"code": self.code, "title": self.title, "detail": self.detail[:2048]}]}


class ParameterMissing(InitiatorError):
    status_code = 400
    code = "PARAMETRO_NAO_INFORMADO"
    title = "Parâmetro não informado."


class ParameterInvalid(InitiatorError):
    status_code = 422


class Unauthorised(InitiatorError):
    status_code = 401
    code = "NAO_AUTORIZADO"
    title = "Credencial da aplicação ausente ou inválida."


class NotFound(InitiatorError):
    status_code = 404
    code = "NAO_ENCONTRADO"
    title = "Recurso não encontrado."


class IdempotencyConflict(InitiatorError):
    status_code = 422
    code = "ERRO_IDEMPOTENCIA"
    title = "Erro idempotência."


class ConsentNotAuthorisable(InitiatorError):
    status_code = 422
    code = "CONSENTIMENTO_NAO_AUTORIZAVEL"
    title = "Consentimento fora da janela de autorização."


class HolderUnreachable(InitiatorError):
    """502/504: no usable answer from the holder (EnumOriginError ``participant``)."""

    status_code = 502
    code = "ERRO_DETENTORA"
    title = "Falha na comunicação com a detentora."
    origin = "participant"

    def __init__(self, detail: str, *, source_url: str, timeout: bool = False) -> None:
        super().__init__(detail, source_url=source_url)
        if timeout:
            self.status_code = 504
            self.code = "TIMEOUT_DETENTORA"
            self.title = "Tempo de resposta da detentora excedido."


class AuthorisationFailed(Exception):
    """The authorisation return could not complete (RFC 6749 §4.1.2.1 ``error`` / ``error_description``)."""

    def __init__(self, error: str, description: str, *, callback_uri: str = "") -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.callback_uri = callback_uri
