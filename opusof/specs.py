"""The regulator's OpenAPI files (specs/ofb, never edited) as resolved dicts and request-body validators.

Validating request bodies against the regulator's own schema keeps every format rule spec-exact; the errors map
to 422 PARAMETRO_NAO_INFORMADO (a required field is missing) or PARAMETRO_INVALIDO (anything else), as the
"Validações" sections 1.3.1 and 2.2.1 say.
"""

import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator

from opusof.errors import ParameterInvalid, ParameterMissing, RegulatedError

# libyaml's parser where PyYAML was built with it: the same safe loading, about six times faster on these files
# (seconds per process otherwise).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "ofb"
_REQUIRED = re.compile(r"'([^']+)' is a required property")


@cache
def _ascii_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


def _ascii_pattern_keyword(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """The yml patterns say ``\\d`` and mean 0-9 (ECMA-262 semantics, OAS 3.0 §4.7.24); Python's ``re`` reads
    ``\\d`` as any Unicode digit, which accepted full-width digits as an amount and a CPF of Arabic-Indic digits."""
    if validator.is_type(instance, "string") and not _ascii_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# OAS 3.0 validation with the spec's patterns read as ECMA-262 reads their \d and \w: ASCII only.
SpecValidator = validators.extend(OAS30Validator, {"pattern": _ascii_pattern_keyword})


def _resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            if ref in seen:
                raise ValueError(f"recursive $ref {ref}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return _resolve(target, root, (*seen, ref))
        return {key: _resolve(value, root, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, root, seen) for item in node]
    return node


@cache
def load_spec(name: str) -> dict[str, Any]:
    """The named spec file with every local ``$ref`` inlined."""
    with (SPEC_DIR / name).open(encoding="utf-8") as handle:
        raw = yaml.load(handle, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    resolved: dict[str, Any] = _resolve(raw, raw)
    return resolved


def operation(spec: str, operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(path, method, operation object) of an operationId."""
    for path, item in load_spec(spec)["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method, op
    raise KeyError(operation_id)


def _path_of(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path)


def to_regulated(error: ValidationError) -> RegulatedError:
    if error.validator == "required":
        missing = _REQUIRED.search(error.message)
        field = ".".join(filter(None, [_path_of(error), missing.group(1) if missing else ""]))
        return ParameterMissing(f"Campo obrigatório não informado: {field}.")
    return ParameterInvalid(f"Campo inválido: {_path_of(error) or 'corpo'} ({error.message[:300]}).")


@cache
def request_body_validator(spec: str, operation_id: str) -> Callable[[Any], None]:
    """A callable that raises the regulated 422 for the first problem of a request body (decoded claims)."""
    _, _, op = operation(spec, operation_id)
    content = op["requestBody"]["content"]
    schema = next(iter(content.values()))["schema"]
    validator = SpecValidator(schema, format_checker=FormatChecker())

    def validate(body: Any) -> None:
        error = best_match(validator.iter_errors(body))
        if error is not None:
            raise to_regulated(error)

    return validate
