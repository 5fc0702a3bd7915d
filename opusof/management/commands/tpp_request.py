"""Call the running API as the demo TPP: mints a token, signs the body with var/demo-tpp's key, prints the answer.

manage.py tpp_request POST /open-banking/payments/v4/consents --data @consent.json
manage.py tpp_request POST /open-banking/payments/v4/pix/payments --consent urn:opusof:... --data @payment.json
manage.py tpp_request GET /open-banking/payments/v4/consents/urn:opusof:...
"""

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.keys import holder_public_jwks
from opusof.models import AccessToken, TppClient
from opusof.tokens import access_token_mint


class Command(BaseCommand):
    help = "Sends a signed request to the running API as the demo TPP (manage.py load_demo creates it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("method", choices=["GET", "POST", "PATCH"])
        parser.add_argument("path", help="e.g. /open-banking/payments/v4/consents")
        parser.add_argument("--data", help="request body as JSON, or @file.json")
        parser.add_argument("--consent", help="use an authorization_code token bound to this consent")
        parser.add_argument("--client-dir", default=str(Path(settings.VAR_DIR) / "demo-tpp"))

    def handle(self, *args: Any, **options: Any) -> None:
        client_dir = Path(options["client_dir"])
        try:
            identity = json.loads((client_dir / "client.json").read_text())
            private_key = (client_dir / identity["private_key"]).read_text()
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename} missing: run manage.py load_demo first") from exc
        client = TppClient.objects.get(client_id=identity["client_id"])
        if options["consent"]:
            token = access_token_mint(
                client=client,
                grant_type=AccessToken.GrantType.AUTHORIZATION_CODE,
                scopes=["openid", "payments", f"consent:{options['consent']}"],
                consent_id=options["consent"],
            )
        else:
            token = access_token_mint(
                client=client, grant_type=AccessToken.GrantType.CLIENT_CREDENTIALS, scopes=["payments"]
            )
        url = f"{settings.OPUSOF_BASE_URL}{options['path']}"
        headers = {
            "Authorization": f"Bearer {token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "Accept": "application/jwt",
        }
        content = None
        if options["method"] != "GET":
            raw = options["data"] or "{}"
            body = json.loads(Path(raw[1:]).read_text() if raw.startswith("@") else raw)
            claims = {
                **body,
                "aud": url,
                "iss": client.organisation_id,
                "iat": int(time.time()),
                "jti": str(uuid.uuid4()),
            }
            content = jwt.encode(claims, private_key, algorithm="PS256", headers={"kid": identity["kid"], "typ": "JWT"})
            headers |= {"Content-Type": "application/jwt", "x-idempotency-key": str(uuid.uuid4())}
        response = httpx.request(options["method"], url, headers=headers, content=content, timeout=30)
        self.stdout.write(f"{response.status_code} {response.headers.get('content-type', '')}")
        self.stdout.write(json.dumps(self._decode(response, client), indent=2, ensure_ascii=False))

    @staticmethod
    def _decode(response: httpx.Response, client: TppClient) -> Any:
        if not response.headers.get("content-type", "").startswith("application/jwt"):
            return response.json() if response.content else None
        key = jwt.PyJWK(holder_public_jwks()["keys"][0]).key
        return jwt.decode(response.text, key, algorithms=["PS256"], audience=client.organisation_id)
