"""A real local HTTP server standing in for a TPP's webhook receiver, and the webhook 1.2.0 request checker.

The server records every request (path, headers, body) and answers from a script of status codes (202 once the
script is exhausted), so tests can make a TPP fail and then recover.
"""

import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.support.spec import load_spec

WEBHOOK_SPEC = "webhook-1.2.0.yml"
PREFIX = "/open-banking/webhook/v1"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers POSTs from ``script`` (status codes, then 202); ``received`` lists every request in arrival order."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    base_url: str = ""
    client_subjects: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else 202

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} webhook(s) received within {timeout} s, expected {count}")


def serve(receiver: WebhookReceiver, tls: ssl.SSLContext | None = None) -> Iterator[WebhookReceiver]:
    """Serves on 127.0.0.1; over TLS (``tls``, a server context, possibly requiring a client certificate)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            status = receiver.next_status()
            peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
            if peer:
                rdns: Any = peer["subject"]  # ((("commonName", "x"),), ...)
                receiver.client_subjects.append({name: value for rdn in rdns for name, value in rdn})
            with receiver.lock:
                receiver.received.append(
                    Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    receiver.base_url = f"{scheme}://127.0.0.1:{server.server_address[1]}/tpp-hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def _operation(path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    spec = load_spec(WEBHOOK_SPEC)
    for template, item in spec["paths"].items():
        names = re.findall(r"{(\w+)}", template)
        pattern = "^" + re.sub(r"{\w+}", "([^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        match = re.match(pattern, path)
        if match:
            return template, dict(zip(names, match.groups(), strict=True)), item["post"]
    raise AssertionError(f"{path} is no path of {WEBHOOK_SPEC}")


def assert_webhook_matches_spec(request: Received, *, base_path: str) -> str:
    """Checks a received notification against webhook 1.2.0: path and its parameters, the required
    x-webhook-interaction-id header, content type and RequestBodyWebhook. Returns the operationId."""
    assert request.method == "POST"
    assert request.path.startswith(base_path + PREFIX), request.path
    template, values, operation = _operation(request.path[len(base_path + PREFIX) :])
    for parameter in operation["parameters"]:
        value: str | None
        if parameter["in"] == "path":
            value = values[parameter["name"]]
        elif parameter["in"] == "header":
            value = request.headers.get(parameter["name"].lower())
            if value is None:
                assert not parameter.get("required"), f"header {parameter['name']} missing"
                continue
        else:
            continue
        OAS30Validator(parameter["schema"], format_checker=oas30_format_checker).validate(value)
    media = operation["requestBody"]["content"]
    assert request.headers["content-type"].split(";")[0].strip() in media, request.headers["content-type"]
    OAS30Validator(media["application/json"]["schema"], format_checker=oas30_format_checker).validate(request.json())
    assert "202" in operation["responses"]
    return str(operation["operationId"])
