"""What the browser tests share: Debian's Chromium driven by Playwright, screenshots in var/test-artifacts/, local
HTTP servers standing in for a TPP's pages, and the customer's login on the consent pages. The fixtures built on
these (``browser``, ``tpp_callback``, ``live_oauth``) are in tests/conftest.py.

    page = browser.new_page()
    login_and_review(page, base_url + flow.authorize_url(oauth.client_id), cpf=ANA_CPF, shot="approve")
"""

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


@contextmanager
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """A headless Chromium for one test."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install -y chromium (make test does)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        assert launched.version
        try:
            yield launched
        finally:
            launched.close()
            # Playwright's sync API runs the test in a greenlet with its own context, so Django (asgiref Local)
            # opened a second database connection there; close it, or the test database cannot be dropped.
            connections.close_all()


def static_page_handler(body: bytes) -> type[BaseHTTPRequestHandler]:
    """A request handler answering every GET with the HTML ``body``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def local_http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 for the test's duration; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


TPP_CALLBACK_PAGE = b"<!doctype html><title>TPP</title><body id='tpp-callback'>TPP callback</body>"


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Saves ``{name}.png`` as evidence of what the page showed. Evidence, not an assertion: Chromium on a loaded
    machine now and then refuses a capture right after a navigation, so it is retried once, then only warned about."""
    path = str(ARTIFACTS / f"{name}.png")
    try:
        page.screenshot(path=path, full_page=full_page)
    except PlaywrightError:
        page.wait_for_timeout(500)
        try:
            page.screenshot(path=path, full_page=full_page)
        except PlaywrightError as exc:
            warnings.warn(f"screenshot {name} not taken: {exc}", stacklevel=2)


def login_and_review(page: Page, authorize_url: str, *, cpf: str, shot: str) -> None:
    """Opens the TPP's authorisation URL, logs in as ``cpf`` and waits for the review page (``{shot}-review.png``)."""
    page.goto(authorize_url)
    page.fill("#cpf", cpf)
    page.fill("#password", "demo1234")
    page.click("#login-button")
    page.wait_for_selector("#consent-button")
    screenshot(page, f"{shot}-review")
