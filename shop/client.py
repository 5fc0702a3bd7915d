"""The shop's side of the merchant API: plain HTTP in the Efí dialect (docs/merchant.md), as any shop would call
it. Nothing here imports the platform's apps; the address and the credentials are settings (docs/shop.md)."""

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

TIMEOUT = 30.0


class ShopError(Exception):
    """The merchant API refused or could not be reached; ``message`` is pt-BR, fit for the shop's page."""

    def __init__(self, message: str, *, status: int = 0, name: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.name = message, status, name


@dataclass
class _Token:
    value: str = ""
    valid_until: float = 0.0


_token = _Token()
_token_lock = threading.Lock()


def _base_url() -> str:
    return str(settings.SHOP_MERCHANT_API_URL or settings.OPUSOF_BASE_URL).rstrip("/")


def _answer(response: httpx.Response) -> Any:
    if response.status_code < 400:
        return response.json() if response.content else None
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("mensagem") if isinstance(body, dict) else None
    if not isinstance(message, str):
        message = body.get("message") if isinstance(body, dict) else None
    raise ShopError(
        str(message or f"A API respondeu {response.status_code}."),
        status=response.status_code,
        name=str(body.get("nome") or body.get("code") or "") if isinstance(body, dict) else "",
    )


def _token_value(client: httpx.Client) -> str:
    with _token_lock:
        if _token.value and time.monotonic() < _token.valid_until:
            return _token.value
        answer = _answer(
            client.post(
                "/v1/oauth/token",
                json={"grant_type": "client_credentials"},
                auth=(settings.SHOP_CLIENT_ID, settings.SHOP_CLIENT_SECRET),
            )
        )
        _token.value = str(answer["access_token"])
        _token.valid_until = time.monotonic() + int(answer.get("expires_in", 3600)) - 60
        return _token.value


def forget_token() -> None:
    with _token_lock:
        _token.value, _token.valid_until = "", 0.0


def call(method: str, path: str, **kwargs: Any) -> Any:
    """One authenticated call; a token refused (expired, merchant recreated) is renewed once."""
    try:
        with httpx.Client(base_url=_base_url(), timeout=TIMEOUT) as client:
            for attempt in (1, 2):
                headers = {"authorization": f"Bearer {_token_value(client)}", **kwargs.pop("headers", {})}
                response = client.request(method, path, headers=headers, **kwargs)
                if response.status_code == 401 and attempt == 1:
                    forget_token()
                    continue
                return _answer(response)
    except httpx.HTTPError as exc:
        raise ShopError(f"A API da loja não respondeu ({exc.__class__.__name__}).") from exc
    return None


def participants() -> list[dict[str, Any]]:
    return list(call("GET", "/v1/participantes")["participantes"])


def create_plan(body: dict[str, Any], *, key: str) -> dict[str, Any]:
    return dict(call("POST", "/v1/pagamentos-recorrentes/pix", json=body, headers={"x-idempotency-key": key}))


def plans(first: str, last: str) -> list[dict[str, Any]]:
    answer = call("GET", "/v1/pagamentos-recorrentes/pix", params={"inicio": first, "fim": last, "quantidade": 100})
    return list(answer["pagamentos"])


def cancel(identifier: str) -> dict[str, Any]:
    return dict(call("PATCH", f"/v1/pagamentos-recorrentes/pix/{identifier}/cancelar"))


def clock() -> dict[str, Any] | None:
    """The sandbox business clock (GET /sandbox/clock); None where there is none (production answers 404)."""
    try:
        return dict(call("GET", "/sandbox/clock"))
    except ShopError as exc:
        if exc.status == 404:
            return None
        raise


def clock_advance(duration: str) -> dict[str, Any]:
    return dict(call("POST", "/sandbox/clock", json={"advance": duration}))
