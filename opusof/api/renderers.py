"""Response bodies are compact JWS signed with our key for the calling TPP's organisation (payments v4
"Assinatura de payloads": response ``aud`` = the TPP's organisationId)."""

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

from opusof.api.authentication import authenticated_client
from opusof.jose import sign_payload


class JwsRenderer(BaseRenderer):
    media_type = "application/jwt"
    format = "jwt"
    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        request = (renderer_context or {}).get("request")
        client = authenticated_client(request) if request is not None else None
        audience = client.organisation_id if client is not None else ""
        return sign_payload(data, audience=audience).encode("ascii")
