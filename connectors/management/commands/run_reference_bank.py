"""Serves the reference bank back-end (the five Opus connector routes over the sandbox bank's data) until Ctrl-C."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connectors.reference.server import ReferenceBankServer


class Command(BaseCommand):
    help = (
        "Serves the Opus connector routes (/payment-validation, /account-discovery, /payments, /find, /cancellation) "
        "from the sandbox bank, with fault switches at /_faults. Point OPUSOF_CONNECTOR_HTTP_BASE_URL at it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8200, help="TCP port (default 8200; 0 picks a free one)")
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        parser.add_argument(
            "--unsigned-requests",
            action="store_true",
            help="accept plain JSON request bodies (the contract's are application/jwt signed by opusof)",
        )
        parser.add_argument(
            "--sign-responses",
            action="store_true",
            help="answer application/jwt signed with a key made at start; its JWKS is printed for "
            "OPUSOF_CONNECTOR_HTTP_BANK_JWKS",
        )

    def handle(
        self, *args: Any, port: int, host: str, unsigned_requests: bool, sign_responses: bool, **options: Any
    ) -> None:
        server = ReferenceBankServer((host, port), verify_requests=not unsigned_requests, sign_responses=sign_responses)
        self.stdout.write(f"reference bank listening on {server.base_url} (faults: {server.base_url}/_faults)")
        if sign_responses:
            self.stdout.write(f"OPUSOF_CONNECTOR_HTTP_BANK_JWKS='{json.dumps(server.public_jwks)}'")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopping")
        finally:
            server.server_close()
