"""Imports a settings module in a fresh process under a controlled environment, cheaply enough to do it dozens of
times: one server process imports the third-party libraries the settings pull in (Celery above all, most of a
fresh interpreter's ~2 s start) once, then forks a child per import, which sets the case's environment, imports
the settings module (opusof's own modules are never loaded in the server) and reports what it found.

    with SettingsProbe(cwd=ROOT, probe=PROBE) as probe:
        loaded = probe.load("opusof.settings.production", env)
"""

import json
import select
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

# Reads one request a line ({"module", "env"}), answers one line: the child's standard output, as a JSON string.
_SERVER = r"""
import json, os, sys
import celery, celery.signals, dj_database_url, django.core.exceptions, dotenv, kombu  # what opusof.settings loads
from cryptography.hazmat.primitives import serialization

PROBE = sys.argv[1]
for line in sys.stdin:
    request = json.loads(line)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.dup2(write, 1)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["-c", request["module"]]
        try:
            exec(compile(PROBE, "<probe>", "exec"), {"__name__": "__main__"})
        except SystemExit:
            pass
        sys.stdout.flush()
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        output = pipe.read()
    os.waitpid(pid, 0)
    print(json.dumps(output), flush=True)
"""


class SettingsProbe:
    """One server process (``_SERVER``) for many imports; ``probe`` is the script each child runs with the module
    name in ``sys.argv[1]``, printing its findings on its last line."""

    def __init__(self, *, cwd: Path, probe: str, timeout: float = 60) -> None:
        self.timeout = timeout
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, probe],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def load(self, module: str, env: dict[str, str]) -> dict[str, Any]:
        """What the probe printed last when ``module`` was imported with exactly ``env`` as its environment."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"module": module, "env": env}) + "\n")
        self._process.stdin.flush()
        ready, _, _ = select.select([self._process.stdout], [], [], self.timeout)
        if not ready:
            raise TimeoutError(f"importing {module} took more than {self.timeout} s")
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the settings probe server ended (exit {self._process.wait()})")
        output: str = json.loads(line)
        result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        return result

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> "SettingsProbe":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
