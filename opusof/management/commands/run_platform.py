"""Runs the whole platform in the foreground: a Celery worker, Celery beat and the web server.

``make run`` calls it with ``--setup``, which first applies migrations and loads the demo data. A worker or beat
that exits is restarted with backoff (opusof.supervisor), so a broker outage never takes the web server down; the web
server exiting stops everything. The children run in their own process groups, so a Ctrl-C (SIGINT) or SIGTERM
reaches only this command, which forwards one SIGTERM to each and waits: Celery finishes the running tasks, gunicorn
the running requests. A second Ctrl-C while waiting kills them at once.
"""

import ctypes
import importlib.metadata
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof.demo_tpp import platform_settings
from opusof.home import ADDRESSES
from opusof.settings.env import env_str
from opusof.supervisor import Child, Supervisor

STOP_TIMEOUT_SECONDS = 30
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a child receives SIGTERM if this command is killed outright, so no worker outlives a `kill -9`."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return preexec


def _gunicorn_major() -> int:
    major = importlib.metadata.version("gunicorn").split(".", 1)[0]
    return int(major) if major.isdigit() else 0


def _split_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CommandError(f"--bind must be HOST:PORT, got {bind!r}")
    return host, int(port)


class Command(BaseCommand):
    help = "Start a Celery worker, beat and the web server (gunicorn, else runserver); Ctrl-C stops all three."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=settings.OPUSOF_BIND,
            help="HOST:PORT for the web server (default: settings.OPUSOF_BIND, env OPUSOF_BIND, 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--setup",
            action="store_true",
            help="First apply migrations and load the demo data (manage.py load_demo), in this process: `make run`.",
        )
        parser.add_argument(
            "--runserver",
            action="store_true",
            help="Use Django's runserver even when gunicorn is installed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind: str = options["bind"]
        host, port = _split_bind(bind)
        shown_host = "127.0.0.1" if host in {"0.0.0.0", "::", "[::]"} else host  # noqa: S104 - display only
        base_url = f"http://{shown_host}:{port}"

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        if options["setup"]:
            # One Python start-up instead of three separate manage.py commands: seconds off every `make run`.
            call_command("migrate", interactive=False)
            call_command("load_demo")
        # The admin's and Swagger/Redoc's assets (drf-spectacular-sidecar) are served by WhiteNoise from here.
        call_command("collectstatic", interactive=False, verbosity=0)

        env = os.environ.copy()
        env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
        # Children read settings afresh: hand them the bind (and so the default OPUSOF_BASE_URL) chosen here.
        env["OPUSOF_BIND"] = bind
        env["PYTHONUNBUFFERED"] = "1"

        celery = [sys.executable, "-m", "celery", "-A", "opusof"]
        worker_cmd = [
            *celery,
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--hostname",
            "opusof@%h",
            # One worker: nobody to synchronise with or gossip to. On the filesystem broker, fanout messages to
            # a crashed worker's queues would otherwise pile up in var/celery forever.
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        # Beat in its own process: a worker restart does not restart the schedule, and the units of a production
        # process manager are the same three (docs/resilience.md).
        beat_cmd = [*celery, "beat", "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME, "--loglevel", "INFO"]
        if importlib.util.find_spec("gunicorn") is not None and not options["runserver"]:
            web_name = "gunicorn"
            web_cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "opusof.wsgi:application",
                "--bind",
                bind,
                "--workers",
                "2",
                # Threads: the initiator gateway calls our own holder over HTTP inside this server, so a sync worker
                # waiting on the holder must not be the only one that could answer it.
                "--threads",
                "4",
                "--graceful-timeout",
                "20",
                "--access-logfile",
                "-",
                # No cap of its own (its error page is HTML): opusof.api.edge caps the request line with a JSON 400.
                "--limit-request-line",
                "0",
            ]
            if _gunicorn_major() >= 27:
                # Its default control socket is one per user (~/.gunicorn); a second local run would take it over.
                web_cmd += ["--control-socket", str(settings.VAR_DIR / "gunicorn.ctl")]
        else:
            web_name = "runserver"
            web_cmd = [sys.executable, "-m", "django", "runserver", bind, "--noreload"]

        stop = threading.Event()
        received: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            received.append(signum)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        supervisor = Supervisor(
            [
                Child("celery worker", worker_cmd, restart=True),
                Child("celery beat", beat_cmd, restart=True),
                Child(web_name, web_cmd, restart=False),
            ],
            env=env,
            cwd=settings.BASE_DIR,
            preexec_fn=_die_with_parent(),
        )
        failed: str | None = None
        try:
            supervisor.start_all()
            self._print_urls(base_url, web_name, supervisor)
            failed = supervisor.watch(stop)
        finally:
            self._stop(supervisor, received)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        if failed is not None and not received:
            raise CommandError(f"{failed}; the platform was stopped")
        self.stdout.write("opusof stopped.")

    def _print_urls(self, base_url: str, web_name: str, supervisor: Supervisor) -> None:
        lines = [
            "",
            "opusof is starting:",
            *(f"  {child.name:<24} pid {child.process.pid}" for child in supervisor.children if child.process),
            # The children's base URL: OPUSOF_BASE_URL if set, else the address bound here (settings/base.py).
            *(f"  {label:<24} {value}" for label, value in platform_settings(env_str("OPUSOF_BASE_URL", base_url))),
            "",
            *(
                f"  {address.banner:<32} {base_url}{address.path}" + (f"   ({address.login})" if address.login else "")
                for address in ADDRESSES
            ),
            f"  {'Consent pages':<32} {base_url}/auth/authorize?client_id=…&request_uri=…   (from a TPP's PAR)",
            "",
            f"Web server: {web_name}. /health turns 200 once the worker is up. A first payment, in another terminal:",
            "  make first-payment",
            "Ctrl-C stops.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _stop(self, supervisor: Supervisor, received: list[int]) -> None:
        running = supervisor.running_names()
        if not running:
            return
        self.stdout.write("Stopping " + ", ".join(running) + " ... (Ctrl-C again to kill)")
        self.stdout.flush()
        signals_before = len(received)
        for name in supervisor.stop_all(
            timeout=STOP_TIMEOUT_SECONDS, interrupted=lambda: len(received) > signals_before
        ):
            self.stderr.write(f"killed {name}")
