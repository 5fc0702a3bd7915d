"""Regulated errors: an outcome the OFB specs name with an HTTP status and an error ``code``. Services, the JWS
choke point (opusof.jose) and the API layer raise these; the one DRF exception handler (opusof.api.errors) renders
them. Each app's own codes live in its ``errors.py``; the cross-cutting ones are here."""


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


# --- Security errors: payments v4 info.description "Validações" 1.2 / 2.1 / 3.1 ------------------------------------


class BadSignature(RegulatedError):
    """1.2.3 / 2.1.3: the message signature cannot be validated (malformed JWS, alg, unknown kid, signature)."""

    status_code = 400
    code = "BAD_SIGNATURE"
    title = "Assinatura inválida."


class InvalidClient(RegulatedError):
    """1.2.4: a claim other than ``data`` (aud, iss, iat, jti) is invalid or the ``jti`` was reused."""

    status_code = 403
    code = "INVALID_CLIENT"
    title = "Cliente inválido."


class InvalidCertificate(RegulatedError):
    """1.2.1: the client certificate is not the one the token was bound to (mTLS, RFC 8705)."""

    status_code = 401
    code = "INVALID_CLIENT"
    title = "Certificado inválido."


class Unauthorized(RegulatedError):
    """1.2.2: the access token is missing, unknown, expired or revoked."""

    status_code = 401
    code = "UNAUTHORIZED"
    title = "Não autorizado."


class Forbidden(RegulatedError):
    """components.responses.Forbidden: "O token tem escopo incorreto ou uma política de segurança foi violada"."""

    status_code = 403
    code = "FORBIDDEN"
    title = "Acesso negado."


# --- Protocol errors: components.responses ------------------------------------------------------------------------


class MalformedRequest(RegulatedError):
    status_code = 400
    code = "PARAMETRO_INVALIDO"
    title = "Requisição malformada."


class InteractionIdMissing(RegulatedError):
    """x-fapi-interaction-id absent: the holder generates one, echoes it and answers 400."""

    status_code = 400
    code = "PARAMETRO_NAO_INFORMADO"
    title = "Parâmetro não informado."


class InteractionIdInvalid(RegulatedError):
    """x-fapi-interaction-id not a UUID: generate one, echo it, 400 (422 is undocumented for GET endpoints)."""

    status_code = 400
    code = "PARAMETRO_INVALIDO"
    title = "Parâmetro inválido."


class NotFound(RegulatedError):
    status_code = 404
    code = "NOT_FOUND"
    title = "Recurso não encontrado."


class MethodNotAllowed(RegulatedError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    title = "Método não permitido."


class NotAcceptable(RegulatedError):
    status_code = 406
    code = "NOT_ACCEPTABLE"
    title = "Tipo de mídia não aceito."


class UnsupportedMediaType(RegulatedError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    title = "Tipo de mídia não suportado."


class MalformedClaims(ParameterInvalid):
    """A correctly signed body whose payload is not a JSON object of claims (1.3.1.2 / 2.2.1)."""


class TooManyRequests(RegulatedError):
    status_code = 429
    code = "TOO_MANY_REQUESTS"
    title = "Muitas requisições."


class InternalError(RegulatedError):
    status_code = 500
    code = "INTERNAL_ERROR"
    title = "Erro interno."


class SiteOverloaded(RegulatedError):
    status_code = 529
    code = "SITE_IS_OVERLOADED"
    title = "O site está sobrecarregado."


class ServiceUnavailable(RegulatedError):
    """A part the request needs (database, broker, cache) cannot be reached; nothing was committed. The spec's
    ``default`` response (ResponseError) carries it, with ``Retry-After``."""

    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    title = "Serviço temporariamente indisponível."
