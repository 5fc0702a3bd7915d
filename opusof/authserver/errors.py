"""OAuth 2.0 errors as RFC 6749 §5.2 / RFC 9126 §2.3 render them: ``{"error", "error_description"}``."""

from django.http import JsonResponse


class OAuthError(Exception):
    """A standard OAuth error; ``status`` 400, or 401 for a client that failed to authenticate (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JsonResponse:
        response = JsonResponse({"error": self.error, "error_description": self.description}, status=self.status)
        response["Cache-Control"] = "no-store"
        if self.status == 401:
            response["WWW-Authenticate"] = 'Bearer error="invalid_client"'
        return response


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_request_object(description: str) -> OAuthError:
    return OAuthError("invalid_request_object", description)
