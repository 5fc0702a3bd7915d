"""``manage.py run_platform`` (gunicorn, Celery worker, beat) on PostgreSQL and a private Redis, in a subprocess:
Redis stops, a signed POST still succeeds and /health says what is down, the worker is killed and restarted
while the web server keeps serving, Redis comes back empty and the platform is healthy again without anyone
touching it; a SIGTERM then stops every process."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from opusof.tokens import access_token_mint
from tests.support.payment_bodies import consent_data
from tests.support.processes import child_process_environment
from tests.support.redis_server import PrivateRedis, free_port

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
CONSENTS = "/open-banking/payments/v4/consents"
OUTAGE_SECONDS = 20


class Platform:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, base_url: str) -> None:
        self.process, self.log, self.base_url = process, log, base_url

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def child_pid(self, name: str) -> int:
        found = re.findall(rf"^  {re.escape(name)}\s+pid (\d+)$", self.text(), flags=re.MULTILINE)
        assert found, self.text()[-3000:]
        return int(found[-1])

    def wait_for(self, predicate, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert self.process.poll() is None, f"run_platform exited while waiting for {what}:\n{self.text()[-4000:]}"
            if time.monotonic() > deadline:
                pytest.fail(f"{what} not within {timeout} s:\n{self.text()[-4000:]}")
            time.sleep(0.5)

    def health(self) -> httpx.Response | None:
        try:
            return httpx.get(f"{self.base_url}/health", timeout=10)
        except httpx.TransportError:
            return None


@pytest.fixture
def platform(tmp_path: Path, demo_bank) -> Iterator[tuple[Platform, PrivateRedis]]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    bind = f"127.0.0.1:{int(os.environ.get('OPUSOF_TEST_PLATFORM_PORT', 0)) or free_port()}"
    env = child_process_environment(
        REDIS_URL=redis.url(), OPUSOF_BIND=bind, OPUSOF_VAR_DIR=str(tmp_path / "var"), LOG_LEVEL="INFO"
    )
    log = tmp_path / "platform.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_platform", "--bind", bind],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Platform(process, log, f"http://{bind}")
    yield running, redis
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    redis.stop()


def _signed_consent_post(tpp, token: str, base_url: str, body: str | None = None) -> tuple[httpx.Response, str]:
    body = body or tpp.sign(tpp.claims_for(CONSENTS, {"data": consent_data()}))
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/jwt",
        "Accept": "application/jwt",
        "x-fapi-interaction-id": str(uuid.uuid4()),
        "x-idempotency-key": str(uuid.uuid4()),
    }
    return httpx.post(f"{base_url}{CONSENTS}", content=body, headers=headers, timeout=30), body


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_platform_rides_out_a_redis_restart_and_a_killed_worker(platform, tpp):
    running, redis = platform
    token = access_token_mint(client=tpp.client, grant_type="client_credentials", scopes=["payments"])
    running.wait_for(lambda: (r := running.health()) is not None and r.status_code == 200, "healthy start", 120)
    web_pid, first_worker_pid = running.child_pid("gunicorn"), running.child_pid("celery worker")

    # When Redis stops
    redis.stop()
    stopped_at = time.monotonic()

    # Then /health answers 503 naming the parts that are down, and a signed POST still succeeds
    down = running.health()
    assert down is not None and down.status_code == 503
    checks = down.json()["checks"]
    assert (checks["database"]["status"], checks["cache"]["status"], checks["broker"]["status"]) == (
        "ok",
        "down",
        "down",
    )
    created, during_body = _signed_consent_post(tpp, token, running.base_url)
    assert created.status_code == 201, created.text

    # And a worker killed meanwhile (as the incident's crash in the transport's reconnect) is started again
    os.kill(first_worker_pid, signal.SIGKILL)
    running.wait_for(lambda: "celery worker restarted" in running.text(), "the worker's restart", 30)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
    assert running.process.poll() is None and _alive(web_pid)

    # When Redis comes back, empty
    redis.start()

    # Then the platform is healthy again on its own (beat publishes, the restarted worker consumes)
    running.wait_for(lambda: (r := running.health()) is not None and r.status_code == 200, "healthy again", 90)
    assert running.child_pid("gunicorn") == web_pid  # the web server was never restarted
    again, _ = _signed_consent_post(tpp, token, running.base_url)
    assert again.status_code == 201, again.text
    replayed, _ = _signed_consent_post(tpp, token, running.base_url, body=during_body)
    assert replayed.status_code == 403 and replayed.json()["errors"][0]["code"] == "INVALID_CLIENT"
    assert " 500 " not in running.text()  # gunicorn's access log: no request answered 500

    # When the operator stops it, every process stops
    restarted_worker = int(re.findall(r"celery worker restarted \(pid (\d+)", running.text())[-1])
    os.kill(running.process.pid, signal.SIGTERM)
    assert running.process.wait(timeout=40) == 0, running.text()[-3000:]
    assert "opusof stopped." in running.text()
    assert not _alive(web_pid) and not _alive(restarted_worker)
