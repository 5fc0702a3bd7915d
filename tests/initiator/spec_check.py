"""The holder's answers as the gateway forwards them, checked against the regulator's schema (payments-4.0.0.yml,
automatic-payments-2.0.0.yml).
Only ``data`` is checked: ``links`` carry the live server's address, which the spec's https-with-TLD pattern cannot
match in a test."""

from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from tests.support.spec import load_spec


def assert_data_matches(
    body: dict[str, Any], *, path: str, method: str, status: int, spec: str = "payments-4.0.0.yml"
) -> None:
    operation = load_spec(spec)["paths"][path][method]
    content = operation["responses"][str(status)]["content"]
    schema = next(iter(content.values()))["schema"]["properties"]["data"]
    errors = list(OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(body["data"]))
    if errors:
        pytest.fail(f"{method.upper()} {path} {status} data: {errors[0].message} at {list(errors[0].absolute_path)}")
