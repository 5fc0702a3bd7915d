"""JSON log lines carry the request's x-fapi-interaction-id, read through the formatter the settings configure."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from opusof.context import interaction_id_var
from opusof.logging import InteractionIdFilter
from opusof.middleware import InteractionIdMiddleware

INTERACTION_ID = "6f0e2a4c-3b1d-4e5f-9a8b-7c6d5e4f3a2b"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Collects what the configured ``console`` handler would print, as one JSON object per line."""
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(console.formatter)
    for log_filter in console.filters:
        capture.addFilter(log_filter)
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(capture)
        root.setLevel(previous_level)


def records(stream: io.StringIO, logger: str) -> list[dict]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line["logger"] == logger]


def test_console_handler_is_json_with_the_interaction_filter() -> None:
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")

    assert type(console.formatter).__name__ == "JsonFormatter"
    assert any(isinstance(f, InteractionIdFilter) for f in console.filters)


def test_a_log_line_inside_a_request_carries_the_interaction_id(json_lines: io.StringIO) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("opusof.test").info("payment created", extra={"paymentId": "p-1"})
        return HttpResponse("ok")

    request = RequestFactory().get("/anything", headers={"x-fapi-interaction-id": INTERACTION_ID})

    InteractionIdMiddleware(view)(request)

    (line,) = records(json_lines, "opusof.test")
    assert line["interaction_id"] == INTERACTION_ID
    assert line["message"] == "payment created"
    assert line["level"] == "INFO"
    assert line["paymentId"] == "p-1"
    assert "time" in line
    # The context does not outlive the request: the next line outside any request has no id.
    assert interaction_id_var.get() is None


def test_a_line_without_a_request_has_a_null_interaction_id(json_lines: io.StringIO) -> None:
    logging.getLogger("opusof.test").warning("beat tick")

    (line,) = records(json_lines, "opusof.test")
    assert line["interaction_id"] is None


def test_an_oversized_header_is_truncated_in_the_logs(json_lines: io.StringIO) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        logging.getLogger("opusof.test").info("hello")
        return HttpResponse("ok")

    request = RequestFactory().get("/anything", headers={"x-fapi-interaction-id": "x" * 5000})

    InteractionIdMiddleware(view)(request)

    (line,) = records(json_lines, "opusof.test")
    assert line["interaction_id"] == "x" * 100


@pytest.mark.django_db
def test_djangos_own_4xx_line_carries_the_interaction_id(client: Client, json_lines: io.StringIO) -> None:
    # django.request logs "Not Found" after the middleware chain returned, i.e. outside the request's context.
    response = client.get("/no-such-page", headers={"x-fapi-interaction-id": INTERACTION_ID})

    assert response.status_code == 404
    (line,) = records(json_lines, "django.request")
    assert line["level"] == "WARNING"
    assert line["interaction_id"] == INTERACTION_ID


def test_unknown_url_still_echoes_the_interaction_id(client, db):
    response = client.get("/open-banking/payments/v4/nowhere/at/all", headers={"x-fapi-interaction-id": "abc-123"})
    assert response.status_code == 404
    assert response["x-fapi-interaction-id"] == "abc-123"
