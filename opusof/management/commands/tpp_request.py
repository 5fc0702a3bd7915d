"""Call the running API as the demo TPP: a token, a body signed with var/demo-tpp's key, the verified answer.

manage.py tpp_request POST /open-banking/payments/v4/consents --data @docs/examples/payments-v4/consent.json
manage.py tpp_request POST /open-banking/payments/v4/pix/payments --consent urn:opusof:... \
    --data @docs/examples/payments-v4/pix-payment.json
manage.py tpp_request GET /open-banking/payments/v4/pix/payments/<paymentId>

Bodies may carry ``{{TODAY}}`` and ``{{END_TO_END_ID}}`` (filled in, see opusof.demo_tpp.fill_placeholders).
Without ``--consent`` the token is a client_credentials one from ``/auth/token``. With it, the token is the one
``tpp_authorize finish`` obtained after the customer approved that consent; ``--mint`` instead mints one in this
terminal's database (a shortcut for scripts that approved with ``consent_authorise``).
"""

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import Error as DatabaseError

from opusof.demo_tpp import DemoTpp, describe_database, read_body
from opusof.models import AccessToken, TppClient
from opusof.tokens import access_token_mint


class Command(BaseCommand):
    help = "Sends a signed request to the running API as the demo TPP (manage.py load_demo creates it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("method", choices=["GET", "POST", "PATCH"])
        parser.add_argument("path", help="e.g. /open-banking/payments/v4/consents")
        parser.add_argument("--data", help="request body as JSON, or @file.json ({{TODAY}}, {{END_TO_END_ID}} filled)")
        parser.add_argument("--consent", help="use the authorization_code token bound to this consent")
        parser.add_argument("--mint", action="store_true", help="with --consent: mint the token in the database")
        parser.add_argument("--token", help="use this access token as it is")
        parser.add_argument("--client-dir", default=str(Path(settings.VAR_DIR) / "demo-tpp"))
        parser.add_argument("--base-url", default=settings.OPUSOF_BASE_URL, help="where the platform answers")

    def handle(self, *args: Any, **options: Any) -> None:
        tpp = DemoTpp.load(Path(options["client_dir"]), options["base_url"])
        tpp.check_platform()
        minted = False
        if options["token"]:
            token = options["token"]
        elif options["consent"] and options["mint"]:
            token, minted = self._mint(tpp, options["consent"]), True
        elif options["consent"]:
            saved = tpp.saved_token(options["consent"])
            if saved is None:
                raise CommandError(
                    f"No valid token for consent {options['consent']}: run `tpp_authorize start` and `finish` "
                    "(the customer's approval), or pass --mint."
                )
            token = saved
        else:
            token = tpp.client_credentials()
        body = read_body(options["data"] or "{}") if options["method"] != "GET" else None
        answer = tpp.request(options["method"], options["path"], token=token, body=body)
        if answer.status == 401 and minted and not tpp.token_is_active(token):
            raise tpp.platform_does_not_know("the token minted in this terminal's database")
        self.stdout.write(f"{answer.status} {answer.content_type}")
        self.stdout.write(json.dumps(answer.body, indent=2, ensure_ascii=False))

    @staticmethod
    def _mint(tpp: DemoTpp, consent_id: str) -> str:
        try:
            client = TppClient.objects.get(client_id=tpp.client_id)
            return access_token_mint(
                client=client,
                grant_type=AccessToken.GrantType.AUTHORIZATION_CODE,
                scopes=["openid", "payments", f"consent:{consent_id}"],
                consent_id=consent_id,
            )
        except TppClient.DoesNotExist as exc:
            raise CommandError(
                f"This terminal's database ({describe_database()}) has no demo TPP: run manage.py load_demo."
            ) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"This terminal's database ({describe_database()}) cannot be used: {str(exc).strip().splitlines()[0]}"
            ) from exc
