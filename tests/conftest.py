"""Fixtures every test package shares: registered TPPs with their keys, tokens, and a clean cache.

    def test_x(tpp, client_credentials_token):
        response = tpp.post("/open-banking/payments/v4/consents", {"data": {...}}, token=client_credentials_token)

``tpp``/``other_tpp`` are ``tests.support.tpp.TppActor`` (``.client`` is the TppClient row, ``.key`` its RSA key).
Browser tests: ``browser`` (headless Chromium), ``tpp_callback`` (the TPP's redirect URI on a local server) and
``live_oauth`` (``tpp`` talking OAuth over HTTP to the live server); helpers in tests/support/browser.py.
Background tests: ``start_worker`` (real Celery workers, tests/support/celery_workers.py) and ``webhook_receiver``
(a TPP's webhook endpoint, tests/support/webhook_receiver.py).

Helpers are imported from tests/support/ and factories from tests/factories/, never from a conftest.
"""

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests.support` importable whatever pytest's rootdir handling

import httpx  # noqa: E402
from django.core.cache import cache  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402
from playwright.sync_api import Browser  # noqa: E402

from connectors.registry import reset_connectors  # noqa: E402
from connectors.sandbox.demo import load_sandbox_demo  # noqa: E402
from opusof import clock  # noqa: E402
from opusof.jose import clear_key_caches  # noqa: E402

# Property tests judge arithmetic, not speed: on a loaded 2-core CI machine Hypothesis's deadline and too_slow
# health check failed runs whose examples all passed.
hypothesis_settings.register_profile("opusof", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("opusof")
from opusof.services import tpp_client_register  # noqa: E402
from opusof.tokens import access_token_mint  # noqa: E402
from tests.support.browser import TPP_CALLBACK_PAGE, chromium, local_http_server, static_page_handler  # noqa: E402
from tests.support.celery_workers import Worker, celery_workers  # noqa: E402
from tests.support.oauth_tpp import OAuthTpp  # noqa: E402
from tests.support.payments_v4 import PaymentsV4  # noqa: E402
from tests.support.tpp import TppActor, public_jwk  # noqa: E402
from tests.support.webhook_receiver import WebhookReceiver, serve  # noqa: E402


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    """Four RSA keys generated once per session (generation is slow): tpp, other_tpp, and two spares."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Each test starts with an empty Django cache (jti replay keys, JWKS, the business clock's offset) and no parsed
    TPP keys in-process."""
    cache.clear()
    clock.forget_local()
    clear_key_caches()
    yield
    clear_key_caches()


def make_tpp(key: rsa.RSAPrivateKey, *, name: str, scopes: list[str] | None = None) -> TppActor:
    jwk = public_jwk(key)
    suffix = uuid.uuid4().hex[:8]
    client = tpp_client_register(
        client_id=f"{name}-{suffix}",
        organisation_id=str(uuid.uuid4()),
        name=name,
        organisation_name=f"{name} Ltda",
        software_statement_id=str(uuid.uuid4()),
        redirect_uris=[f"https://{name}.example.com/callback"],
        webhook_uris=[f"https://{name}.example.com/webhooks"],
        jwks={"keys": [jwk]},
        scopes=scopes or ["openid", "payments", "consents"],
        roles=["PAGTO"],
    )
    return TppActor(client=client, key=key, kid=jwk["kid"])


@pytest.fixture
def tpp(db: None, rsa_keys: list[rsa.RSAPrivateKey]) -> TppActor:
    return make_tpp(rsa_keys[0], name="tpp-one")


@pytest.fixture
def other_tpp(db: None, rsa_keys: list[rsa.RSAPrivateKey]) -> TppActor:
    return make_tpp(rsa_keys[1], name="tpp-two")


@pytest.fixture
def client_credentials_token(tpp: TppActor) -> str:
    """A client_credentials token of ``tpp`` with scope ``payments`` (consents, GETs, cancellations)."""
    return access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["payments"])


@pytest.fixture
def consent_token(tpp: TppActor) -> Callable[..., str]:
    """``consent_token(consent_id)``: an authorization_code token of ``tpp`` bound to the consent, scopes
    ``openid payments consent:<id>`` (POST /pix/payments). ``actor=other_tpp`` issues it to another TPP."""

    def mint(consent_id: str, *, actor: TppActor | None = None, ttl_seconds: int = 900) -> str:
        return access_token_mint(
            client=(actor or tpp).client,
            grant_type="authorization_code",
            scopes=["openid", "payments", f"consent:{consent_id}"],
            consent_id=consent_id,
            ttl_seconds=ttl_seconds,
        )

    return mint


@pytest.fixture
def demo_bank(db: None) -> dict[str, Any]:
    """The sandbox bank's demo customers, accounts, keys and QR codes (connectors/sandbox/demo.py)."""
    reset_connectors()
    return load_sandbox_demo()


@pytest.fixture
def v4(tpp: TppActor, client_credentials_token: str, demo_bank: dict[str, Any]) -> PaymentsV4:
    """Payments v4 driven as ``tpp``, every response checked against the regulator's spec."""
    return PaymentsV4(tpp=tpp, token=client_credentials_token)


# --- browser tests ------------------------------------------------------------------------------------------------


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright (tests/support/browser.py)."""
    with chromium(monkeypatch) as launched:
        yield launched


@pytest.fixture
def tpp_callback() -> Iterator[str]:
    """The TPP's redirect URI: a real local HTTP server (the browser must land somewhere)."""
    with local_http_server(static_page_handler(TPP_CALLBACK_PAGE)) as port:
        yield f"http://127.0.0.1:{port}/callback"


@pytest.fixture
def live_oauth(live_server: Any, tpp: TppActor, demo_bank: dict[str, Any], tpp_callback: str) -> Iterator[OAuthTpp]:
    """``tpp`` with ``tpp_callback`` registered, talking OAuth over HTTP to the live server (``live_server.url``)."""
    tpp.client.redirect_uris = [tpp_callback]
    tpp.client.save()
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield OAuthTpp(actor=tpp, http=http)


# --- background tests ---------------------------------------------------------------------------------------------


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """``start_worker(**env)`` starts a real Celery worker (solo pool, default queue) on this test's database and
    Redis database and waits until it is ready; all are stopped at the end of the test, before the database is
    flushed."""
    with celery_workers(tmp_path) as start:
        yield start


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server on 127.0.0.1 answering 202 (or its ``script``), recording every notification."""
    yield from serve(WebhookReceiver())
