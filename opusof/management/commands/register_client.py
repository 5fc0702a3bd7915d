"""Registers (or updates) a TPP client: from options, from a JSON file, or both (options win).

    manage.py register_client --client-id c1 --organisation-id ORG --name "TPP" --jwks-file tpp.jwks.json \\
        --redirect-uri https://tpp.example/cb --webhook-uri https://tpp.example/hook --scope payments --scope openid
    manage.py register_client --from-json client.json

The JSON file holds the same fields, snake_case or camelCase (``clientId``, ``organisationId``, ``jwksUri``...);
``jwks`` may be inline there.
"""

import json
import re
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.services import tpp_client_register

_FIELDS = (
    "client_id",
    "organisation_id",
    "name",
    "organisation_name",
    "software_statement_id",
    "redirect_uris",
    "webhook_uris",
    "jwks",
    "jwks_uri",
    "scopes",
    "roles",
    "status",
)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


class Command(BaseCommand):
    help = "Create or update a TPP client (TppClient) from options or a JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-json", type=Path, help="JSON object with the client's fields")
        parser.add_argument("--client-id")
        parser.add_argument("--organisation-id")
        parser.add_argument("--name")
        parser.add_argument("--organisation-name")
        parser.add_argument("--software-statement-id")
        parser.add_argument("--redirect-uri", action="append", dest="redirect_uris", metavar="URI")
        parser.add_argument("--webhook-uri", action="append", dest="webhook_uris", metavar="URI")
        parser.add_argument("--jwks-file", type=Path, help="the client's public JWKS (JSON)")
        parser.add_argument("--jwks-uri", help="the client's JWKS URL (Directory keystore)")
        parser.add_argument("--scope", action="append", dest="scopes", metavar="SCOPE")
        parser.add_argument("--role", action="append", dest="roles", metavar="ROLE")
        parser.add_argument("--status", choices=["ACTIVE", "INACTIVE"])

    def handle(self, *args: Any, **options: Any) -> None:
        fields: dict[str, Any] = {}
        if options["from_json"]:
            fields.update(self._read_json(options["from_json"]))
        if options["jwks_file"]:
            fields["jwks"] = self._read_json(options["jwks_file"], raw=True)
            fields.pop("jwks_uri", None)
        if options["jwks_uri"]:
            fields.pop("jwks", None)
        for field in _FIELDS:
            if options.get(field) is not None:
                fields[field] = options[field]
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise CommandError(f"unknown field(s): {', '.join(sorted(unknown))}")
        try:
            client = tpp_client_register(**fields)
        except (ValidationError, TypeError) as exc:
            raise CommandError(f"invalid client: {exc}") from exc
        self.stdout.write(f"registered {client.client_id} (organisation {client.organisation_id}, id {client.pk})")

    def _read_json(self, path: Path, *, raw: bool = False) -> dict[str, Any]:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        if not isinstance(document, dict):
            raise CommandError(f"{path} must hold a JSON object")
        return document if raw else {_snake(key): value for key, value in document.items()}
