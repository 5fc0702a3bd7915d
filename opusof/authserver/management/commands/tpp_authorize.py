"""Walk the OAuth side of a payment as the demo TPP, against the running server, with a real browser in between:

    manage.py tpp_authorize start urn:opusof:...        # PAR; prints the URL to open in a browser
    (log in as a sandbox customer, choose the account, approve; the browser ends on the TPP's redirect URI)
    manage.py tpp_authorize finish 'https://demo-tpp.example.com/callback#code=...'   # checks, exchanges the code

``finish`` prints the consent-bound tokens and keeps them in var/demo-tpp/tokens/, where ``tpp_request --consent``
finds the access token. The flow's PKCE verifier, state and nonce wait in var/demo-tpp/flows/ between the steps.
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from opusof.demo_tpp import DemoTpp


class Command(BaseCommand):
    help = "PAR + authorize URL (start), then code exchange (finish), as the demo TPP (manage.py load_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("step", choices=["start", "finish"])
        parser.add_argument("value", help="start: the consent id; finish: the URL the browser was redirected to")
        parser.add_argument("--client-dir", default=str(Path(settings.VAR_DIR) / "demo-tpp"))
        parser.add_argument("--base-url", default=settings.OPUSOF_BASE_URL, help="where the server answers")

    def handle(self, *args: Any, **options: Any) -> None:
        tpp = DemoTpp.load(Path(options["client_dir"]), options["base_url"])
        tpp.check_platform()
        if options["step"] == "start":
            self.stdout.write(tpp.start(options["value"]))
        else:
            self.stdout.write(json.dumps(tpp.finish(options["value"]), indent=2))
