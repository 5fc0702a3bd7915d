"""Serves the reference bank back-end (the five Opus connector routes over the sandbox bank's data) until Ctrl-C."""

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

    def handle(self, *args: Any, port: int, host: str, **options: Any) -> None:
        server = ReferenceBankServer((host, port))
        self.stdout.write(f"reference bank listening on {server.base_url} (faults: {server.base_url}/_faults)")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("stopping")
        finally:
            server.server_close()
