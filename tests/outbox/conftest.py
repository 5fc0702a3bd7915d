from collections.abc import Iterator

import pytest

from tests.outbox.webhook_server import WebhookReceiver, serve


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 answering 202 (or its ``script``), recording every notification."""
    yield from serve(WebhookReceiver())
