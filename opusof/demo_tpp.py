"""The demo TPP (``manage.py load_demo`` writes its keys to ``var/demo-tpp/``) talking to a running platform over
HTTP only, as a real initiator would: client assertions, ``/auth/token``, PAR, signed request bodies, answers
verified with the platform's published JWKS. ``tpp_request``, ``tpp_authorize`` and ``first_payment`` are thin
commands over it.

When the terminal points somewhere other than the running platform (no server at the base URL, another service
there, a platform on another database or ``var/``), calls fail with :class:`PlatformMismatch`: one sentence that
says which setting to align, instead of a traceback or a bare 401.
"""

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
from django.conf import settings
from django.core.management.base import CommandError
from kombu.utils.url import maybe_sanitize_url

from opusof.timeutil import business_date

ALGORITHM = "PS256"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_REDIRECT_URI = "https://demo-tpp.example.com/callback"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_E2E_SUFFIX = string.ascii_letters + string.digits


class PlatformMismatch(CommandError):
    """The command reached no opusof, or one that does not share this terminal's database or keys."""


def describe_database() -> str:
    database = settings.DATABASES["default"]
    engine = str(database["ENGINE"]).rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"sqlite3 {database['NAME']}"
    user = f"{database.get('USER')}@" if database.get("USER") else ""
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"{engine} {user}{database.get('HOST') or 'localhost'}{port}/{database['NAME']}"


def platform_settings(base_url: str | None = None) -> list[tuple[str, str]]:
    """What a second terminal must agree on with the first: printed by ``make run`` and quoted in mismatches."""
    env_file = settings.ENV_FILE
    return [
        ("settings file", str(env_file) if env_file else "none (.env absent; environment and defaults)"),
        ("database", describe_database()),
        ("broker", str(maybe_sanitize_url(settings.CELERY_BROKER_URL))),
        ("base URL", base_url or settings.OPUSOF_BASE_URL),
    ]


def fill_placeholders(text: str, *, ispb: str | None = None) -> str:
    """The example bodies (docs/examples/) carry ``{{TODAY}}`` (today in Brasília, the date a consent for an
    immediate payment names) and ``{{END_TO_END_ID}}`` (a fresh Pix endToEndId stamped now, UTC)."""
    now = dt.datetime.now(dt.UTC)
    suffix = "".join(secrets.choice(_E2E_SUFFIX) for _ in range(11))
    end_to_end_id = f"E{ispb or settings.OPUSOF_ISPB}{now:%Y%m%d%H%M}{suffix}"
    return text.replace("{{TODAY}}", business_date().isoformat()).replace("{{END_TO_END_ID}}", end_to_end_id)


def read_body(raw: str) -> dict[str, Any]:
    """``--data`` as JSON text or ``@file.json``, placeholders filled."""
    try:
        text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
        body: dict[str, Any] = json.loads(fill_placeholders(text))
    except FileNotFoundError as exc:
        raise CommandError(f"{exc.filename}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise CommandError(f"the request body is not JSON: {exc}") from exc
    return body


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any


@dataclass
class DemoTpp:
    client_id: str
    organisation_id: str
    kid: str
    private_key: str
    redirect_uri: str
    base_url: str
    client_dir: Path
    http: httpx.Client = field(repr=False)
    # The platform's own name for itself (its OPUSOF_BASE_URL, the discovery document's issuer): the audience of
    # client assertions and request JWS, which may differ from the address this terminal reaches it at.
    issuer: str = ""

    @classmethod
    def load(cls, client_dir: Path | None = None, base_url: str | None = None) -> "DemoTpp":
        client_dir = client_dir or Path(settings.VAR_DIR) / "demo-tpp"
        try:
            identity = json.loads((client_dir / "client.json").read_text())
            private_key = (client_dir / identity["private_key"]).read_text()
        except FileNotFoundError as exc:
            raise CommandError(
                f"{exc.filename} is missing: `make run` (or manage.py load_demo) creates the demo TPP there, "
                "with this terminal's settings."
            ) from exc
        base = (base_url or settings.OPUSOF_BASE_URL).rstrip("/")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the commands print each step themselves
        return cls(
            client_id=identity["client_id"],
            organisation_id=identity.get("organisation_id", ""),
            kid=identity["kid"],
            private_key=private_key,
            redirect_uri=identity.get("redirect_uri", DEFAULT_REDIRECT_URI),
            base_url=base,
            client_dir=client_dir,
            http=httpx.Client(base_url=base, timeout=30),
        )

    # --- is it the running platform? ------------------------------------------------------------------------------

    def check_platform(self) -> dict[str, Any]:
        """The platform's health; fails with one sentence when no opusof answers at the base URL. Learns the
        platform's issuer, the audience its signatures must name."""
        try:
            response = self.http.get("/health", timeout=5)
            health: dict[str, Any] = response.json()
            issuer = self.http.get("/.well-known/openid-configuration", timeout=5).json().get("issuer", "")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise PlatformMismatch(
                f"No server answers at {self.base_url} ({type(exc).__name__}): start the platform with `make run` "
                "in another terminal, or give this terminal the same OPUSOF_BIND / OPUSOF_BASE_URL as the running "
                "one (.env at the checkout's root)."
            ) from exc
        except (httpx.TransportError, ValueError, AttributeError) as exc:
            raise PlatformMismatch(
                f"The server at {self.base_url} is not opusof (no JSON health report at /health): point "
                "OPUSOF_BIND / OPUSOF_BASE_URL at the platform `make run` started."
            ) from exc
        if "checks" not in health:
            raise PlatformMismatch(f"The server at {self.base_url} is not opusof (its /health has no checks).")
        self.issuer = str(issuer).rstrip("/")
        return health

    def platform_does_not_know(self, what: str) -> PlatformMismatch:
        return PlatformMismatch(
            f"The platform at {self.base_url} does not know {what}: it runs on another database or var/ directory "
            f"than this terminal ({describe_database()}, keys in {self.client_dir}); give both terminals the same "
            ".env (DATABASE_URL, OPUSOF_VAR_DIR), or run manage.py load_demo with the platform's settings."
        )

    # --- client authentication and tokens -------------------------------------------------------------------------

    @property
    def audience(self) -> str:
        return self.issuer or self.base_url

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid, "typ": "JWT"})

    def _assertion(self) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.audience, "iat": now, "exp": now + 60}
        claims["jti"] = str(uuid.uuid4())
        return {
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.sign(claims),
        }

    def post_form(self, path: str, form: dict[str, str]) -> Any:
        """A client-authenticated form post (``private_key_jwt``); an unknown client or key is a mismatch."""
        response = self.http.post(path, data={**form, **self._assertion()})
        if response.status_code == 401 and "invalid_client" in response.text:
            raise self.platform_does_not_know(f"the demo TPP {self.client_id} with the key in {self.client_dir}")
        if response.status_code >= 400:
            raise CommandError(f"{path} answered {response.status_code}: {response.text}")
        return response.json()

    def client_credentials(self, scope: str = "payments") -> str:
        token: str = self.post_form("/auth/token", {"grant_type": "client_credentials", "scope": scope})["access_token"]
        return token

    def token_is_active(self, token: str) -> bool:
        return bool(self.post_form("/auth/token/introspect", {"token": token}).get("active"))

    # --- the authorisation code flow (PAR → customer → code → token) --------------------------------------------

    def _flow_path(self, state: str) -> Path:
        return self.client_dir / "flows" / f"{hashlib.sha256(state.encode()).hexdigest()[:32]}.json"

    def _token_path(self, consent_id: str) -> Path:
        return self.client_dir / "tokens" / f"{hashlib.sha256(consent_id.encode()).hexdigest()[:32]}.json"

    def start(self, consent_id: str, scope: str | None = None) -> str:
        """Pushes the authorisation request; returns the URL the customer's browser opens."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        state, nonce, now = secrets.token_urlsafe(16), secrets.token_urlsafe(16), int(time.time())
        request_object = self.sign(
            {
                "iss": self.client_id,
                "aud": self.audience,
                "client_id": self.client_id,
                "iat": now,
                "nbf": now,
                "exp": now + 300,
                "jti": str(uuid.uuid4()),
                "response_type": "code id_token",
                "redirect_uri": self.redirect_uri,
                "scope": scope or f"openid payments consent:{consent_id}",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        pushed = self.post_form("/auth/par", {"request": request_object})
        flow = {"verifier": verifier, "nonce": nonce, "redirect_uri": self.redirect_uri, "consent_id": consent_id}
        _write_private(self._flow_path(state), flow)
        return f"{self.base_url}/auth/authorize?" + urlencode(
            {"client_id": self.client_id, "request_uri": pushed["request_uri"]}
        )

    def finish(self, redirect_url: str) -> dict[str, Any]:
        """Checks the id_token of the front-channel answer and exchanges the code; the tokens are kept for
        ``tpp_request --consent`` (``var/demo-tpp/tokens/``, mode 0600) and returned."""
        params = dict(parse_qsl(urlsplit(redirect_url).fragment))
        if "error" in params:
            raise CommandError(f"authorisation refused: {params['error']} {params.get('error_description', '')}")
        path = self._flow_path(params.get("state", ""))
        if "code" not in params or not path.exists():
            raise CommandError("no code, or a state this TPP did not start (run `tpp_authorize start` first)")
        flow = json.loads(path.read_text())
        key = self._platform_key(jwt.get_unverified_header(params["id_token"]).get("kid"))
        id_token = jwt.decode(params["id_token"], key, algorithms=[ALGORITHM], audience=self.client_id)
        if id_token.get("nonce") != flow["nonce"]:
            raise CommandError("the id_token's nonce is not the one this TPP sent")
        tokens = self.post_form(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": flow["redirect_uri"],
                "code_verifier": flow["verifier"],
            },
        )
        path.unlink()
        result = {"consent_id": flow["consent_id"], **tokens}
        _write_private(self._token_path(flow["consent_id"]), result)
        return result

    def saved_token(self, consent_id: str) -> str | None:
        """The access token ``finish`` obtained for this consent, while it is still valid."""
        path = self._token_path(consent_id)
        if not path.exists():
            return None
        saved = json.loads(path.read_text())
        if path.stat().st_mtime + int(saved.get("expires_in", 0)) < time.time() + 5:
            return None
        token: str = saved["access_token"]
        return token

    def approve_as_customer(self, authorize_url: str, *, cpf: str, password: str, account: str) -> str:
        """What the customer does in the browser, over HTTP: log in, pick the debtor account, Autorizar. Returns the
        URL the browser is sent to (the TPP's redirect URI with the answer in its fragment)."""
        browser = httpx.Client(base_url=self.base_url, timeout=30)
        response = browser.get(authorize_url)
        page_url = response.headers.get("location", "")
        if "/auth/entrar/" in page_url:
            login = browser.get(page_url)
            response = browser.post(
                page_url, data={"cpf": cpf, "password": password, "csrfmiddlewaretoken": _csrf(login)}
            )
            page_url = response.headers.get("location", "")
        if response.status_code != 302 or "/auth/consentimento/" not in page_url:
            raise CommandError(f"the consent page did not open (HTTP {response.status_code}): {response.text[:300]}")
        review = browser.get(page_url)
        choice = re.search(rf'id="account-{account}" value="([^"]+)"', review.text)
        if choice is None:
            raise CommandError(f"account {account} is not offered on the consent page")
        decision = browser.post(
            page_url, data={"action": "approve", "account": choice.group(1), "csrfmiddlewaretoken": _csrf(review)}
        )
        location = decision.headers.get("location", "")
        if decision.status_code != 302 or not location.startswith(self.redirect_uri):
            raise CommandError(f"the approval did not return to the TPP (HTTP {decision.status_code})")
        return location

    # --- the APIs -------------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, token: str, body: dict[str, Any] | None = None) -> Answer:
        """A FAPI request: bearer token, interaction id, and for writes a PS256 JWS body (``aud`` = the URL)."""
        url = f"{self.base_url}{path}"
        headers = {
            "Authorization": f"Bearer {token}",
            "x-fapi-interaction-id": str(uuid.uuid4()),
            "Accept": "application/jwt",
        }
        content = None
        if method != "GET":
            claims = {
                **(body or {}),
                "aud": f"{self.audience}{path}",
                "iss": self.organisation_id,
                "iat": int(time.time()),
                "jti": str(uuid.uuid4()),
            }
            content = self.sign(claims)
            headers |= {"Content-Type": "application/jwt", "x-idempotency-key": str(uuid.uuid4())}
        response = self.http.request(method, url, headers=headers, content=content)
        content_type = response.headers.get("content-type", "")
        decoded: Any
        if content_type.startswith("application/jwt"):
            key = self._platform_key(jwt.get_unverified_header(response.text).get("kid"))
            decoded = jwt.decode(response.text, key, algorithms=[ALGORITHM], audience=self.organisation_id)
        else:
            try:
                decoded = response.json() if response.content else None
            except ValueError:
                decoded = response.text
        return Answer(response.status_code, content_type, decoded)

    def _platform_key(self, kid: str | None) -> Any:
        """The platform's signing key named ``kid``, from its published JWKS (not from this terminal's var/)."""
        keys = self.http.get("/.well-known/jwks.json").json()["keys"]
        jwk = next((key for key in keys if key.get("kid") == kid), keys[0])
        return jwt.PyJWK(jwk).key


def _csrf(page: httpx.Response) -> str:
    match = _CSRF.search(page.text)
    if match is None:
        raise CommandError(f"no form on {page.url} (HTTP {page.status_code})")
    return match.group(1)


def _write_private(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    path.chmod(0o600)
