"""The HTTP connector's overhead per call: the same connector calls made directly on the sandbox bank and through
HttpBank -> the reference bank (a separate process, `manage.py run_reference_bank`) -> the sandbox bank, in one run.

    .venv/bin/python bench/connector.py [--n 500] [--concurrency 1]

Creates a scratch database ``opusof_bench_connector`` (PostgreSQL on 127.0.0.1), loads the sandbox demo, starts the
reference bank on a free loopback port and, for each route (validate, status, initiate), runs ``n`` calls per side
on ``concurrency`` threads. Prints calls/s, p50 and p95 per side and the HTTP connector's added p50/p95 per call.
The HTTP side includes everything a production call pays: JSON mapping, the pooled keep-alive client, the breaker,
the retry wrapper, the log line, the ConnectorCall row (written by its own thread) and the PS256 JWS of every
request body (the contract's application/jwt), verified by the reference bank; ``--unsigned`` measures without it.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "opusof_bench_connector"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


PORT = free_port()
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "opusof.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "LOG_LEVEL": "WARNING",
    "DB_CONN_MAX_AGE": "600",
    "OPUSOF_CONNECTOR_HTTP_BASE_URL": f"http://127.0.0.1:{PORT}",
}
os.environ.update(ENV)

import django  # noqa: E402


@dataclass
class Figures:
    calls: int
    elapsed_s: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed_s

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(call: Callable[[int], object], n: int, concurrency: int) -> Figures:
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        from django.db import connections

        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            call(i)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
        connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Figures(n, time.perf_counter() - started, latencies)


def prepare_database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
        env=ENV,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_reference_bank(*, unsigned: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(ROOT / "manage.py"), "run_reference_bank", "--port", str(PORT)]
    server = subprocess.Popen(
        [*command, "--unsigned-requests"] if unsigned else command,
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("reference bank did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="calls per route and side")
    parser.add_argument("--concurrency", type=int, default=1, help="threads per side")
    parser.add_argument("--unsigned", action="store_true", help="plain JSON request bodies (signing off both sides)")
    args = parser.parse_args()
    if args.unsigned:
        os.environ["OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS"] = ENV["OPUSOF_CONNECTOR_HTTP_SIGN_REQUESTS"] = "false"

    prepare_database()
    django.setup()
    from django.conf import settings

    from connectors.http import HttpBank, calllog
    from connectors.interfaces import AccountRef, AccountType, PaymentData, PaymentInitiation
    from connectors.models import ConnectorCall, SandboxAccount
    from connectors.sandbox import SandboxBank
    from connectors.sandbox.demo import OTHER_ISPB, load_sandbox_demo

    load_sandbox_demo()
    ana = SandboxAccount.objects.get(number="10000001").ref
    data = PaymentData(
        amount=Decimal("1.00"),
        local_instrument="MANU",
        creditor_account=AccountRef(OTHER_ISPB, "90000001", AccountType.CACC, "0001"),
        creditor_document="12345678000195",
        creditor_name="Loja Exemplo Comercio Ltda",
        customer_document="12345678909",
        debtor_account=ana,
    )
    direct, http = SandboxBank(), HttpBank()
    assert direct.validate_payment_data(data).ok, "bench payment must pass the sandbox's checks"
    server = start_reference_bank(unsigned=args.unsigned)
    try:
        run = uuid.uuid4().hex[:8]

        def initiation(side: str, i: int) -> PaymentInitiation:
            payment_id = f"bench-{run}-{side}-{i}"
            end_to_end = f"E{settings.OPUSOF_ISPB}{time.strftime('%Y%m%d%H%M', time.gmtime())}{i:011d}"
            return PaymentInitiation(payment_id, end_to_end[:32], payment_id, data)

        seeded = http.initiate_payment(initiation("seed", 0))
        assert seeded.status == "ACSC", seeded
        seed_id, seed_e2e = initiation("seed", 0).payment_id, initiation("seed", 0).end_to_end_id
        http.validate_payment_data(data)  # warm the pool and the reference bank's connection
        routes: dict[str, tuple[Callable[[int], object], Callable[[int], object]]] = {
            "validate": (lambda i: direct.validate_payment_data(data), lambda i: http.validate_payment_data(data)),
            "status": (
                lambda i: direct.get_payment_status(payment_id=seed_id, end_to_end_id=seed_e2e),
                lambda i: http.get_payment_status(payment_id=seed_id, end_to_end_id=seed_e2e),
            ),
            "initiate": (
                lambda i: direct.initiate_payment(initiation("direct", i)),
                lambda i: http.initiate_payment(initiation("http", i)),
            ),
        }
        print(f"connector overhead, n={args.n} per route and side, concurrency={args.concurrency}")
        print(f"{'route':<10}{'side':<8}{'calls/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for route, (direct_call, http_call) in routes.items():
            figures = {
                "direct": measure(direct_call, args.n, args.concurrency),
                "http": measure(http_call, args.n, args.concurrency),
            }
            for side, fig in figures.items():
                print(f"{route:<10}{side:<8}{fig.rate:>10.0f}{fig.pct(0.5):>10.2f}{fig.pct(0.95):>10.2f}")
            added50 = figures["http"].pct(0.5) - figures["direct"].pct(0.5)
            added95 = figures["http"].pct(0.95) - figures["direct"].pct(0.95)
            print(f"{route:<10}{'added':<8}{'':>10}{added50:>10.2f}{added95:>10.2f}")
        calllog.flush(30)
        logged = ConnectorCall.objects.count()
        print(
            f"ConnectorCall rows written: {logged}; mean of all HTTP latencies "
            f"{statistics.mean(ConnectorCall.objects.values_list('latency_ms', flat=True)):.2f} ms"
        )
    finally:
        http.close()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
