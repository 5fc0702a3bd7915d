"""Checks a response against the regulator's OpenAPI file (ARCHITECTURE: every regulated response in the tests is
validated against specs/ofb/). Independent of opusof.specs on purpose: the oracle does not share the code under test.
"""

import functools
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from django.conf import settings
from django.http.response import HttpResponseBase
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from opusof.keys import holder_kid, holder_public_jwks

SPEC_DIR = Path(__file__).resolve().parents[2] / "specs" / "ofb"
JWT_CLAIMS = ("iss", "aud", "iat", "jti")


def _resolve(node: Any, root: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/"), f"only local $refs are supported, got {ref}"
            assert ref not in seen, f"recursive $ref {ref}"
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return _resolve(target, root, seen | {ref})
        return {key: _resolve(value, root, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, root, seen) for item in node]
    return node


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    """The spec file with every ``$ref`` inlined (parsed once per test session)."""
    raw = yaml.load((SPEC_DIR / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    resolved: dict[str, Any] = _resolve(raw, raw)
    return resolved


def _media(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    kind, *params = (part.strip() for part in value.split(";"))
    parsed = []
    for param in params:
        name, _, val = param.partition("=")
        parsed.append((name.strip().lower(), val.strip().strip('"').lower()))
    return kind.lower(), tuple(sorted(parsed))


def decode_holder_jws(token: str | bytes, *, audience: str | None = None) -> dict[str, Any]:
    """A body we signed, verified with our published JWKS: PS256, our kid, typ JWT, iss our organisation."""
    if isinstance(token, bytes):
        token = token.decode("ascii")
    header = jwt.get_unverified_header(token)
    assert header.get("alg") == "PS256", header
    assert header.get("typ") == "JWT", header
    assert header.get("kid") == holder_kid(), header
    jwk = next(key for key in holder_public_jwks()["keys"] if key["kid"] == header["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["PS256"],
        audience=audience,
        issuer=settings.OPUSOF_ORGANISATION_ID,
        options={"require": list(JWT_CLAIMS), "verify_aud": audience is not None},
    )
    return claims


def _fail(message: str, response: HttpResponseBase) -> None:
    body = getattr(response, "content", b"")[:2000]
    pytest.fail(f"{message}\nstatus {response.status_code}, Content-Type {response.get('Content-Type')!r}\n{body!r}")


def assert_response_matches_spec(
    response: HttpResponseBase, *, spec: str = "payments-4.0.0.yml", path: str, method: str
) -> Any:
    """Fails unless ``response`` is what ``spec`` documents for ``method path`` and its status code: documented
    status (no ``default`` fallback), headers, Content-Type, a holder-signed JWS where the type is ``application/jwt``,
    and a body valid against the schema (OAS 3.0, formats checked). Returns the decoded body (claims for JWS)."""
    document = load_spec(spec)
    operation = document.get("paths", {}).get(path, {}).get(method.lower())
    if operation is None:
        pytest.fail(f"{spec} has no operation {method.upper()} {path}")
    documented = operation["responses"].get(str(response.status_code))
    if documented is None:
        _fail(f"{method.upper()} {path} does not document status {response.status_code} in {spec}", response)

    for name, header in documented.get("headers", {}).items():
        value = response.get(name)
        if value is None:
            _fail(f"response header {name} is missing", response)
        errors = list(OAS30Validator(header["schema"], format_checker=oas30_format_checker).iter_errors(value))
        if errors:
            _fail(f"response header {name}={value!r}: {errors[0].message}", response)

    content = documented.get("content")
    if not content:
        assert not getattr(response, "content", b""), "a response documented without content has a body"
        return None
    actual = _media(response.get("Content-Type", ""))
    media_type = next((media for media in content if _media(media) == actual), None)
    if media_type is None:
        _fail(f"Content-Type is not one of {list(content)}", response)
        return None

    raw = getattr(response, "content", b"")
    if actual[0] == "application/jwt":
        try:
            body: Any = decode_holder_jws(raw)
        except (jwt.InvalidTokenError, AssertionError, StopIteration) as exc:
            _fail(f"body is not a JWS signed by the holder: {exc!r}", response)
        instance = {key: value for key, value in body.items() if key not in JWT_CLAIMS}
    else:
        body = json.loads(raw)
        instance = body

    validator = OAS30Validator(content[media_type]["schema"], format_checker=oas30_format_checker)
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
    if errors:
        lines = [f"  {'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}" for error in errors[:10]]
        pytest.fail(f"{method.upper()} {path} {response.status_code} body does not match {spec}:\n" + "\n".join(lines))
    return body
