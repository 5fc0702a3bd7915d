"""Request bodies are compact JWS (``Content-Type: application/jwt``) signed by the calling TPP (payments v4
"Assinatura de payloads"). The parsed ``request.data`` is the verified claims object; views read ``["data"]``."""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from opusof.api.authentication import authenticated_client
from opusof.api.errors import BadSignature, Unauthorized
from opusof.jose import verify_request

MAX_BODY_BYTES = 1024 * 1024


def request_audience(path: str) -> str:
    """The ``aud`` a TPP must sign: the public URL it called (behind a proxy, never the socket address)."""
    return f"{settings.OPUSOF_BASE_URL}{path}"


class JwsParser(BaseParser):
    media_type = "application/jwt"

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        assert parser_context is not None
        request = parser_context["request"]
        client = authenticated_client(request)
        if client is None:
            # Verification needs the caller's keys: bodies are parsed only after authentication (OfbApiView).
            raise Unauthorized("Requisição não autenticada.")
        raw = stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise BadSignature("Corpo da requisição grande demais.")
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError as exc:
            raise BadSignature("O corpo não é um JWS compacto.") from exc
        if not token:
            raise BadSignature("Corpo da requisição vazio; envie um JWS assinado.")
        return verify_request(token, client=client, expected_audience=request_audience(request._request.path))
