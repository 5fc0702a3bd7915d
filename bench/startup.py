"""Seconds from `make run` to the first `/health` 200, first install and warm (docs/benchmarks.md).

    python3 bench/startup.py                 # a fresh clone of this checkout's HEAD in a temporary folder: the
                                             # first run installs (.venv from the locks), the second is warm
    python3 bench/startup.py --runs 3 --bind 127.0.0.1:8109

Embedded defaults (no DATABASE_URL / REDIS_URL, so SQLite and the filesystem broker). Each run is stopped with
Ctrl-C (SIGINT to `make run`'s process group) once /health answered 200.
"""

import argparse
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def one_run(checkout: Path, bind: str, timeout: float) -> float:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "OPUSOF_BASE_URL"}}
    env |= {"OPUSOF_BIND": bind, "OPUSOF_ENV_FILE": os.devnull}
    log = (checkout / "var" / "startup-bench.log").open("ab")
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run"], cwd=checkout, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"make run exited with {process.returncode}; see {log.name}")
            if health_ok(f"http://{bind}/health"):
                return time.monotonic() - started
            time.sleep(0.2)
        raise SystemExit(f"/health not 200 within {timeout} s; see {log.name}")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bind", default="127.0.0.1:8109")
    parser.add_argument("--runs", type=int, default=2, help="the first one installs")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opusof-startup-") as folder:
        checkout = Path(folder) / "opusof"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        (checkout / "var").mkdir(exist_ok=True)
        for run in range(args.runs):
            seconds = one_run(checkout, args.bind, args.timeout)
            print(f"{'first install' if run == 0 else 'warm'}: make run → /health 200 in {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
