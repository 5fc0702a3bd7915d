"""Real Celery worker processes on the test's own database and Redis database (tests/support/processes.py),
consuming the default queue, and waiting on what they do. The ``start_worker`` fixture (tests/conftest.py) wraps
``celery_workers``.

    worker = start_worker()
    run_due_payments.delay()
    wait_until(lambda: not payments_due(today).exists(), workers=[worker])
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from kombu import Queue

from opusof.celery import app
from tests.support.processes import child_process_environment

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_QUEUE = "celery"
# The worker's own settings for these tests: short webhook backoff and timeouts so retries happen in seconds.
WORKER_ENV = {
    "OPUSOF_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "OPUSOF_WEBHOOK_RETRY_MAX_SECONDS": "4",
    "OPUSOF_WEBHOOK_TIMEOUT_SECONDS": "2",
}


def celery_worker_command(*, queue: str, name: str, heartbeat: bool = True) -> list[str]:
    """``celery worker`` with the solo pool (one task at a time, in queue order) on ``queue`` only, under a unique
    node name starting with ``name``; no mingle or gossip, so it starts fast and ignores other test runs' nodes."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "opusof",
        "worker",
        "--pool",
        "solo",
        "--queues",
        queue,
        "--hostname",
        f"{name}-{uuid.uuid4().hex[:8]}@%h",
        "--without-mingle",
        "--without-gossip",
        *([] if heartbeat else ["--without-heartbeat"]),
        "--loglevel",
        "INFO",
    ]


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        return self.text()[-4000:]

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost node would: no shutdown, no ack, open transaction dropped."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def celery_workers(log_dir: Path) -> Iterator[Callable[..., Worker]]:
    """Yields ``start(**env)``, which starts one solo-pool worker on the default queue of this test's Redis database
    and waits until it is ready; every worker started is stopped (TERM, then KILL) on leaving, and the queue purged
    on entering and leaving (messages other tests published)."""
    with app.connection_for_write() as conn:
        Queue(DEFAULT_QUEUE)(conn.default_channel).purge()  # messages other tests published
    started: list[Worker] = []

    def start(**extra_env: str) -> Worker:
        log = log_dir / f"worker-{len(started)}.log"
        env = child_process_environment(**WORKER_ENV, **extra_env)
        command = celery_worker_command(queue=DEFAULT_QUEUE, name="bg")
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(process, log)
        started.append(worker)
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{worker.tail()}")
            time.sleep(0.1)
        return worker

    try:
        yield start
    finally:
        _stop(started)


def _stop(started: list[Worker]) -> None:
    for worker in started:
        if worker.process.poll() is None:
            worker.process.terminate()
    for worker in started:
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    with app.connection_for_write() as conn:
        Queue(DEFAULT_QUEUE)(conn.default_channel).purge()


def wait_until(predicate: Callable[[], bool], *, workers: list[Worker], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    logs = "\n---\n".join(worker.tail() for worker in workers)
    pytest.fail(f"condition not met within {timeout} s; worker logs:\n{logs}")
