"""OpenAPI documentation of the regulated views, taken from the regulator's own files (specs/ofb).

drf-spectacular cannot infer our bodies (signed JWS, no serializers), so each view borrows its operation's
request and responses from the spec: /api/docs shows exactly what the regulator publishes.
"""

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema

from opusof.specs import operation


def _first_schema(content: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = next(iter(content.values()))["schema"]
    return schema


def regulated_operation(spec: str, operation_id: str) -> Callable[[Any], Any]:
    """``@regulated_operation("payments-4.0.0.yml", "paymentsPostConsents")`` on a view method."""
    _, _, op = operation(spec, operation_id)
    responses = {
        int(code): OpenApiResponse(
            response=_first_schema(response["content"]) if response.get("content") else None,
            description=response.get("description", ""),
        )
        for code, response in op["responses"].items()
        if code != "default"
    }
    request = None
    if body := op.get("requestBody"):
        request = {media: content["schema"] for media, content in body["content"].items()}
    return extend_schema(
        operation_id=operation_id,
        summary=op.get("summary"),
        description=op.get("description", ""),
        tags=op.get("tags"),
        request=request,
        responses=responses,
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents BearerTokenAuthentication as the spec's OAuth2 bearer access token."""

    target_class = "opusof.api.authentication.BearerTokenAuthentication"
    name = "OAuth2Bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Access token issued by the bank (FAPI)."}
