"""Child processes of ``manage.py run_platform``: started, watched, restarted with backoff, stopped together.

A Celery worker or beat that exits (a crash in the broker transport's reconnect, an OOM kill) is started again
after 1 s; each further exit within STABLE_RUN_SECONDS of its start doubles the wait (2, 4, ... up to 30 s), so a
child that cannot start does not spin. The web server is not restarted: gunicorn already replaces its own workers,
and its master exiting means it cannot serve at all (its port is taken, say), so its exit stops the platform.
Production runs the same three processes under a process manager instead (docs/resilience.md).
"""

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

RESTART_BACKOFF_FIRST_SECONDS = 1.0
RESTART_BACKOFF_MAX_SECONDS = 30.0
# A child that ran at least this long before exiting is restarted after the first backoff step again.
STABLE_RUN_SECONDS = 60.0
POLL_SECONDS = 0.2


@dataclass
class Child:
    name: str
    command: Sequence[str]
    restart: bool
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_exits: int = 0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: Mapping[str, str],
        cwd: Path,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.children = list(children)
        self._env = dict(env)
        self._cwd = cwd
        self._preexec_fn = preexec_fn

    def start_all(self) -> None:
        for child in self.children:
            self._start(child)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - argv built by the caller from fixed parts
            list(child.command),
            env=self._env,
            cwd=self._cwd,
            start_new_session=True,  # Ctrl-C reaches only the supervisor, which stops the children in order
            preexec_fn=self._preexec_fn,
        )
        child.started_at = time.monotonic()
        child.restart_at = None

    def watch(self, stop: threading.Event) -> str | None:
        """Runs until ``stop`` is set (returns None) or a child that is not restarted exits (returns why)."""
        while not stop.is_set():
            failure = self.check_once()
            if failure is not None:
                return failure
            stop.wait(POLL_SECONDS)
        return None

    def check_once(self) -> str | None:
        """Restarts the children whose backoff has elapsed and schedules the ones that just exited."""
        now = time.monotonic()
        for child in self.children:
            if child.process is None:
                if child.restart_at is not None and now >= child.restart_at:
                    self._start(child)
                    child.restarts += 1
                    assert child.process is not None
                    logger.warning("%s restarted (pid %s, restart %s)", child.name, child.process.pid, child.restarts)
                continue
            code = child.process.poll()
            if code is None:
                continue
            if not child.restart:
                return f"{child.name} exited with status {code}"
            ran = now - child.started_at
            child.quick_exits = 0 if ran >= STABLE_RUN_SECONDS else child.quick_exits + 1
            delay = min(RESTART_BACKOFF_MAX_SECONDS, RESTART_BACKOFF_FIRST_SECONDS * 2 ** max(child.quick_exits - 1, 0))
            logger.warning(
                "%s exited with status %s after %.0f s; restarting in %.0f s",
                child.name,
                code,
                ran,
                delay,
                extra={"child": child.name, "status": code, "restartInSeconds": delay},
            )
            child.process = None
            child.restart_at = now + delay
        return None

    def stop_all(self, *, timeout: float, interrupted: Callable[[], bool]) -> list[str]:
        """SIGTERM to every running child, web (last started) first, so no new work is accepted while the worker
        finishes what it holds; SIGKILL to the process group of any still running after ``timeout`` or once
        ``interrupted()`` turns true (a second Ctrl-C). Returns the names of the killed children."""
        running = [child for child in reversed(self.children) if child.process and child.process.poll() is None]
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        killed: list[str] = []
        deadline = time.monotonic() + timeout
        while any(child.process and child.process.poll() is None for child in running):
            if interrupted() or time.monotonic() > deadline:
                for child in running:
                    assert child.process is not None
                    if child.process.poll() is None:
                        killed.append(child.name)
                        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
                            os.killpg(child.process.pid, signal.SIGKILL)
                        child.process.wait()
                break
            time.sleep(0.1)
        return killed

    def running_names(self) -> list[str]:
        return [child.name for child in self.children if child.process and child.process.poll() is None]
