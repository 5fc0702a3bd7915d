"""Domain-level regulated errors. Services raise these; the API's exception handler renders them."""


class RegulatedError(Exception):
    """An outcome the OFB specs name with an HTTP status and an error ``code``."""

    status_code: int = 422
    code: str = "NAO_INFORMADO"
    title: str = "Erro não especificado"

    def __init__(self, detail: str | None = None, *, code: str | None = None, title: str | None = None) -> None:
        self.code = code or self.code
        self.title = title or self.title
        self.detail = detail or self.title
        super().__init__(f"{self.code}: {self.detail}")


class ParameterMissing(RegulatedError):
    code = "PARAMETRO_NAO_INFORMADO"
    title = "Parâmetro não informado."


class ParameterInvalid(RegulatedError):
    code = "PARAMETRO_INVALIDO"
    title = "Parâmetro inválido."


class IdempotencyConflict(RegulatedError):
    code = "ERRO_IDEMPOTENCIA"
    title = "Erro idempotência."
