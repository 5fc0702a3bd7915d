"""A reverse proxy in front of our holder, as a real deployment has one: the holder's public base URL is the
proxy's, and the test can make the holder misbehave on the wire without touching either side's code.

Modes, for requests whose path starts with ``prefix``: ``up`` (forward), ``down`` (close the connection unread),
``drop`` (forward, so the holder acts, then close without answering: an unknown outcome), ``tamper`` (forward and
flip one character of a signed answer's signature)."""

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx

_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}


@dataclass
class HolderProxy:
    upstream: str
    url: str = ""
    mode: str = "up"
    prefix: str = "/open-banking/payments/v4/pix/payments"
    forwarded: list[str] = field(default_factory=list)

    def affects(self, path: str) -> bool:
        return self.mode != "up" and path.startswith(self.prefix)


def _handler(proxy: HolderProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            affected = proxy.affects(self.path)
            if affected and proxy.mode == "down":
                self.close_connection = True
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers.pop("X-SSL-Client-Cert", None)  # only the TLS layer below may say who the client is
            if isinstance(self.connection, ssl.SSLSocket):
                der = self.connection.getpeercert(binary_form=True)
                if der:  # as a TLS terminator forwards it: the URL-encoded PEM
                    headers["X-SSL-Client-Cert"] = quote(ssl.DER_cert_to_PEM_cert(der))
            with httpx.Client(base_url=proxy.upstream, timeout=60) as http:
                answer = http.request(self.command, self.path, content=body, headers=headers)
            proxy.forwarded.append(f"{self.command} {self.path} {answer.status_code}")
            if affected and proxy.mode == "drop":
                self.close_connection = True
                return
            content = answer.content
            if (
                affected
                and proxy.mode == "tamper"
                and answer.headers.get("content-type", "").startswith("application/jwt")
            ):
                content = content[:-3] + (b"A" if content[-3:-2] != b"A" else b"B") + content[-2:]
            self.send_response(answer.status_code)
            for name, value in answer.headers.multi_items():
                if name.lower() not in _HOP and name.lower() != "content-encoding":
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def holder_proxy(upstream: str, *, tls: ssl.SSLContext | None = None) -> Iterator[HolderProxy]:
    """``tls``: terminate TLS (asking for, not requiring, a client certificate) and forward the client's
    certificate in X-SSL-Client-Cert, as the holder's TLS terminator does in production."""
    proxy = HolderProxy(upstream=upstream)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    proxy.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
