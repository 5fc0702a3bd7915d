"""Walk the OAuth side of a payment as the demo TPP, against the running server, with a real browser in between:

    manage.py tpp_authorize start urn:opusof:...        # PAR; prints the URL to open in a browser
    (log in as a sandbox customer, choose the account, approve; the browser ends on the TPP's redirect URI)
    manage.py tpp_authorize finish 'https://demo-tpp.example.com/callback#code=...'   # checks, exchanges the code

``finish`` prints the consent-bound access token; ``tpp_request ... --token`` is not needed: pass the consent to
``tpp_request --consent`` as before, or use the printed token with any HTTP client. The flow's PKCE verifier, state
and nonce wait in var/demo-tpp/flows/ between the two steps.
"""

import base64
import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.authserver.clientauth import ASSERTION_TYPE
from opusof.keys import holder_public_jwks

ALGORITHM = "PS256"


class Command(BaseCommand):
    help = "PAR + authorize URL (start), then code exchange (finish), as the demo TPP (manage.py load_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("step", choices=["start", "finish"])
        parser.add_argument("value", help="start: the consent id; finish: the URL the browser was redirected to")
        parser.add_argument("--client-dir", default=str(Path(settings.VAR_DIR) / "demo-tpp"))
        parser.add_argument("--base-url", default=settings.OPUSOF_BASE_URL, help="where the server answers")

    def handle(self, *args: Any, **options: Any) -> None:
        client_dir = Path(options["client_dir"])
        try:
            identity = json.loads((client_dir / "client.json").read_text())
            key = (client_dir / identity["private_key"]).read_text()
        except FileNotFoundError as exc:
            raise CommandError(f"{exc.filename} missing: run manage.py load_demo first") from exc
        self.identity, self.key, self.base_url = identity, key, options["base_url"].rstrip("/")
        self.flows = client_dir / "flows"
        if options["step"] == "start":
            self._start(options["value"], identity.get("redirect_uri", "https://demo-tpp.example.com/callback"))
        else:
            self._finish(options["value"])

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm=ALGORITHM, headers={"kid": self.identity["kid"], "typ": "JWT"})

    def _assertion(self) -> dict[str, str]:
        now = int(time.time())
        client_id = self.identity["client_id"]
        claims = {"iss": client_id, "sub": client_id, "aud": settings.OPUSOF_BASE_URL, "iat": now, "exp": now + 60}
        claims["jti"] = str(uuid.uuid4())
        return {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._sign(claims)}

    def _post(self, path: str, form: dict[str, str]) -> Any:
        response = httpx.post(self.base_url + path, data={**form, **self._assertion()}, timeout=30)
        if response.status_code >= 400:
            raise CommandError(f"{path}: {response.status_code} {response.text}")
        return response.json()

    def _start(self, consent_id: str, redirect_uri: str) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state, nonce, now = secrets.token_urlsafe(16), secrets.token_urlsafe(16), int(time.time())
        client_id = self.identity["client_id"]
        request_object = self._sign(
            {
                "iss": client_id,
                "aud": settings.OPUSOF_BASE_URL,
                "client_id": client_id,
                "iat": now,
                "nbf": now,
                "exp": now + 300,
                "jti": str(uuid.uuid4()),
                "response_type": "code id_token",
                "redirect_uri": redirect_uri,
                "scope": f"openid payments consent:{consent_id}",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        pushed = self._post("/auth/par", {"request": request_object})
        self.flows.mkdir(mode=0o700, parents=True, exist_ok=True)
        flow = {"verifier": verifier, "nonce": nonce, "redirect_uri": redirect_uri, "consent_id": consent_id}
        path = self.flows / f"{hashlib.sha256(state.encode()).hexdigest()[:32]}.json"
        path.write_text(json.dumps(flow))
        path.chmod(0o600)
        query = urlencode({"client_id": client_id, "request_uri": pushed["request_uri"]})
        self.stdout.write(f"{self.base_url}/auth/authorize?{query}")

    def _finish(self, url: str) -> None:
        params = dict(parse_qsl(urlsplit(url).fragment))
        if "error" in params:
            raise CommandError(f"authorisation refused: {params['error']} {params.get('error_description', '')}")
        path = self.flows / f"{hashlib.sha256(params.get('state', '').encode()).hexdigest()[:32]}.json"
        if "code" not in params or not path.exists():
            raise CommandError("no code, or a state this TPP did not start")
        flow = json.loads(path.read_text())
        jwk = holder_public_jwks()["keys"][0]
        id_token = jwt.decode(
            params["id_token"], jwt.PyJWK(jwk).key, algorithms=[ALGORITHM], audience=self.identity["client_id"]
        )
        if id_token.get("nonce") != flow["nonce"]:
            raise CommandError("id_token nonce does not match")
        tokens = self._post(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": flow["redirect_uri"],
                "code_verifier": flow["verifier"],
            },
        )
        path.unlink()
        self.stdout.write(json.dumps({"consent_id": flow["consent_id"], **tokens}, indent=2))
