"""opusof.supervisor (run_platform's children): a worker or beat that exits is restarted with growing backoff and
logged; the web server exiting ends the watch; stop_all stops every child, killing what outlives the timeout."""

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from opusof import supervisor as sup
from opusof.supervisor import Child, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]
# Ignores SIGTERM: only the SIGKILL of stop_all ends it.
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"]


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch):
    monkeypatch.setattr(sup, "RESTART_BACKOFF_FIRST_SECONDS", 0.2)
    monkeypatch.setattr(sup, "RESTART_BACKOFF_MAX_SECONDS", 0.8)


def _supervisor(*children: Child) -> Supervisor:
    return Supervisor(children, env=dict(os.environ), cwd=Path.cwd())


def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_killed_worker_is_restarted_and_the_web_server_keeps_running(caplog):
    worker, web = Child("celery worker", SLEEPER, restart=True), Child("gunicorn", SLEEPER, restart=False)
    supervisor = _supervisor(worker, web)
    supervisor.start_all()
    assert worker.process is not None and web.process is not None
    first_pid, web_pid = worker.process.pid, web.process.pid
    stop = threading.Event()
    outcome: list[str | None] = []
    watcher = threading.Thread(target=lambda: outcome.append(supervisor.watch(stop)))
    try:
        with caplog.at_level(logging.WARNING, logger="opusof.supervisor"):
            watcher.start()
            os.kill(first_pid, signal.SIGKILL)  # as the OOM killer, or a crash in the broker transport's reconnect
            _until(lambda: worker.process is not None and worker.process.pid != first_pid)
    finally:
        stop.set()
        watcher.join(5)
        killed = supervisor.stop_all(timeout=5, interrupted=lambda: False)

    assert outcome == [None]  # the watch ended because it was told to, not because a child failed
    assert web.process.pid == web_pid and worker.restarts == 1
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith(f"celery worker exited with status {-signal.SIGKILL} after ")
    assert messages[1].startswith("celery worker restarted (pid ")
    assert killed == [] and supervisor.running_names() == []


def test_quick_exits_back_off_up_to_the_ceiling():
    beat = Child("celery beat", CRASHER, restart=True)
    supervisor = _supervisor(beat)
    supervisor.start_all()
    delays = []
    for _ in range(5):
        _until(lambda: beat.process is not None and beat.process.poll() is not None)
        before = time.monotonic()
        assert supervisor.check_once() is None
        assert beat.restart_at is not None
        delays.append(round(beat.restart_at - before, 1))
        _until(lambda: supervisor.check_once() is None and beat.process is not None)

    assert delays == [0.2, 0.4, 0.8, 0.8, 0.8]


def test_the_web_server_exiting_ends_the_watch():
    web = Child("gunicorn", CRASHER, restart=False)
    supervisor = _supervisor(web)
    supervisor.start_all()

    assert supervisor.watch(threading.Event()) == "gunicorn exited with status 3"


def test_stop_all_kills_a_child_that_ignores_sigterm_after_the_timeout():
    polite, stubborn = Child("celery worker", SLEEPER, restart=True), Child("gunicorn", STUBBORN, restart=False)
    supervisor = _supervisor(polite, stubborn)
    supervisor.start_all()
    time.sleep(0.5)  # let the stubborn child install its handler

    started = time.monotonic()
    killed = supervisor.stop_all(timeout=1, interrupted=lambda: False)

    assert killed == ["gunicorn"]
    assert supervisor.running_names() == []
    assert time.monotonic() - started < 5
