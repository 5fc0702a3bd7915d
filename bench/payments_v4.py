"""Payments v4 throughput over real HTTP, each endpoint interleaved with the reference in short rounds.

    .venv/bin/python bench/payments_v4.py [--n 1200] [--rounds 6] [--concurrency 8] [--connector sandbox|http]
        [--port 8765] [--db opusof_bench] [--redis-db 9]

Creates a scratch database, loads the sandbox demo, registers a bench TPP, starts gunicorn (2 workers) and drives
consent -> authorise (service, as the consent page would) -> payment -> get flows, then a mixed-traffic mode (60 %
reads, 40 % writes). Every endpoint round runs between two rounds of the reference (a minimal DRF view with one
PostgreSQL query and a PS256-signed body, bench/bench_urls.py); a round's ratio is its req/s over the mean of its
neighbours'. Prints per endpoint the median ratio with the rounds' spread, p50/p95, CPU milliseconds per request
(gunicorn workers, PostgreSQL backends, and with ``--connector http`` the reference bank process), SQL statements
per request (ours + the sandbox bank's, from the bench-only bench/bench_middleware.py) and the statuses.
``--connector http`` puts the HTTP connector (connectors/http) and the reference bank back-end
(``manage.py run_reference_bank``, a separate process) under every bank call and prints the connector's latency
per route from its call log.
"""

import argparse
import functools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import PreparedRequest  # noqa: E402
from rounds import Driver, Endpoint, Request, children  # noqa: E402

HOST = "127.0.0.1"
API = "/open-banking/payments/v4"
# Issue 20: ratios to the reference measured in the same window, and p95 under 50 ms at concurrency 8.
TARGETS = {
    "GET /pix/payments/{id}": 0.60,
    "GET /consents/{id}": 0.60,
    "POST /consents": 0.35,
    "POST /pix/payments": 0.20,
    "mixed 60% reads/40% writes": 0.30,
}
P95_TARGET_MS = 50.0
_HTTP_CONNECTOR = "connectors.http.HttpBank"
_CONNECTOR_ENV = ("VALIDATE", "DISCOVERY", "INITIATE", "STATUS", "CANCEL")


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": str(ROOT / "bench"),
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "OPUSOF_BASE_URL": f"http://{HOST}:{args.port}",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
    }
    if args.connector == "http":
        env["OPUSOF_CONNECTOR_HTTP_BASE_URL"] = f"http://{HOST}:{args.port + 1}"
        env.update({f"OPUSOF_CONNECTOR_{name}": _HTTP_CONNECTOR for name in _CONNECTOR_ENV})
    return env


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    subprocess.run(["dropdb", "-h", HOST, "-U", "postgres", "--if-exists", "--force", args.db], check=True)
    subprocess.run(["createdb", "-h", HOST, "-U", "postgres", args.db], check=True)
    subprocess.run(["redis-cli", "-n", str(args.redis_db), "flushdb"], check=False, stdout=subprocess.DEVNULL)
    for command in (["migrate", "--noinput"], ["load_demo"]):
        manage = [sys.executable, str(ROOT / "manage.py"), *command]
        subprocess.run(manage, env=env, check=True, stdout=subprocess.DEVNULL)


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 240  # a loaded machine starts gunicorn slowly
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{what} did not come up")


def start_server(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "opusof.wsgi",
        "--workers=2",
        f"--worker-class={args.worker_class}",
        f"--bind={HOST}:{args.port}",
        "--log-level=warning",
    ]
    if args.worker_class == "gthread":
        command.append("--threads=4")
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    wait_for(f"http://{HOST}:{args.port}/.well-known/jwks.json", server, "gunicorn")
    return server


def start_reference_bank(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(ROOT / "manage.py"), "run_reference_bank", "--port", str(args.port + 1)]
    bank = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_for(f"http://{HOST}:{args.port + 1}/", bank, "reference bank")
    return bank


def postgres_backends(db: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
            [db],
        )
        return [row[0] for row in cursor.fetchall()]


def connector_latencies() -> list[str]:
    from connectors.http import calllog
    from connectors.models import ConnectorCall

    calllog.flush(30)
    lines = []
    for route in sorted(set(ConnectorCall.objects.values_list("route", flat=True))):
        latencies = sorted(ConnectorCall.objects.filter(route=route).values_list("latency_ms", flat=True))
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        lines.append(
            f"connector {route:<10} {len(latencies):>6} calls  p50 {statistics.median(latencies):5.2f} ms  "
            f"p95 {p95:5.2f} ms (HTTP round trip to the reference bank, as logged per call)"
        )
    return lines


def verdict(endpoint: Endpoint) -> str:
    target = TARGETS.get(endpoint.name)
    if target is None:
        return ""
    ratio = statistics.median(endpoint.ratios())
    met = ratio >= target and endpoint.percentile(95) < P95_TARGET_MS
    return f"target >= {target:.0%}, p95 < {P95_TARGET_MS:.0f} ms: {'met' if met else 'not met'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1200, help="requests per endpoint (consents, payments, gets, mixed)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per endpoint, each between reference rounds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--connector", default="sandbox", choices=["sandbox", "http"])
    parser.add_argument("--port", type=int, default=8765, help="gunicorn's port (the reference bank takes the next)")
    parser.add_argument("--db", default="opusof_bench")
    parser.add_argument("--redis-db", type=int, default=9)
    args = parser.parse_args()

    env = environment(args)
    prepare_database(args, env)
    os.environ.update(env)
    import django

    django.setup()
    from bench_tpp import BenchTpp

    tpp = BenchTpp.register()
    bank = start_reference_bank(args, env) if args.connector == "http" else None
    server = start_server(args, env)
    processes = {"web": lambda: children(server.pid), "pg": lambda: postgres_backends(args.db)}
    if bank is not None:
        processes["bank"] = lambda: [bank.pid]
    driver = Driver(
        host=HOST,
        port=args.port,
        concurrency=args.concurrency,
        reference=lambda k: [PreparedRequest("GET", "/bench/reference", {}) for _ in range(k)],
        reference_size=max(200, args.n // args.rounds * 2),
        processes=processes,
    )
    mixed_writes = args.n * 2 // 10  # each of POST /consents and POST /pix/payments: 20 % of the mixed requests
    endpoints: list[Endpoint] = []
    try:
        consents = driver.interleaved(
            "POST /consents",
            [functools.partial(tpp.create_consent_request, f"{API}/consents", i) for i in range(args.n + mixed_writes)],
            args.rounds,
            keep_bodies=True,
        )
        endpoints.append(consents)
        consent_ids = [tpp.decode(body)["data"]["consentId"] for body in consents.bodies()]
        tokens = tpp.authorise(consent_ids)

        payments = driver.interleaved(
            "POST /pix/payments",
            [functools.partial(tpp.create_payment_request, f"{API}/pix/payments", token) for token in tokens[: args.n]],
            args.rounds,
            keep_bodies=True,
        )
        endpoints.append(payments)
        payment_ids = [tpp.decode(body)["data"][0]["paymentId"] for body in payments.bodies()]

        def get_payment(i: int) -> PreparedRequest:
            return tpp.get_request(f"{API}/pix/payments/{payment_ids[i % len(payment_ids)]}")

        def get_consent(i: int) -> PreparedRequest:
            return tpp.get_request(f"{API}/consents/{consent_ids[i % len(consent_ids)]}")

        endpoints.append(
            driver.interleaved("GET /pix/payments/{id}", [get_payment(i) for i in range(args.n)], args.rounds)
        )
        endpoints.append(driver.interleaved("GET /consents/{id}", [get_consent(i) for i in range(args.n)], args.rounds))

        reads = args.n - 2 * mixed_writes
        mixed: list[Request] = [
            *(get_payment(i) for i in range(reads // 2)),
            *(get_consent(i) for i in range(reads - reads // 2)),
            *(functools.partial(tpp.create_consent_request, f"{API}/consents", i) for i in range(mixed_writes)),
            *(functools.partial(tpp.create_payment_request, f"{API}/pix/payments", t) for t in tokens[args.n :]),
        ]
        random.Random(20).shuffle(mixed)
        endpoints.append(driver.interleaved("mixed 60% reads/40% writes", mixed, args.rounds))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    load = os.getloadavg()
    print(
        f"\nopusof payments v4 bench: gunicorn 2 workers ({args.worker_class}), PostgreSQL, Redis, connector "
        f"{args.connector}, concurrency {args.concurrency}, n={args.n}, {args.rounds} rounds per endpoint, "
        f"load average {load[0]:.1f}/{load[1]:.1f}"
    )
    print(driver.reference_rounds.summary().replace("100.0% of reference", "  ref           "))
    reference_rps = [r.result.rps for r in driver.reference_rounds.rounds]
    print(f"{'':<30} reference req/s over the run: median {statistics.median(reference_rps):.0f}, "
          f"min {min(reference_rps):.0f}, max {max(reference_rps):.0f}")  # fmt: skip
    for endpoint in endpoints:
        print(endpoint.summary())
    print()
    for endpoint in endpoints:
        print(f"{endpoint.name:<30} {statistics.median(endpoint.ratios()):>6.1%} of reference  {verdict(endpoint)}")
    if bank is not None:
        print()
        print("\n".join(connector_latencies()))
        bank.terminate()
        bank.wait(10)
    print(
        json.dumps(
            {
                e.name: {
                    "ratio_median": round(statistics.median(e.ratios()), 4),
                    "ratio_min": round(min(e.ratios()), 4),
                    "ratio_max": round(max(e.ratios()), 4),
                    "p95_ms": round(e.percentile(95), 1),
                    "cpu_ms_web": round(e.cpu_ms_per_request("web"), 2),
                    "cpu_ms_pg": round(e.cpu_ms_per_request("pg"), 2),
                    "sql": e.statements(),
                }
                for e in [driver.reference_rounds, *endpoints]
            }
        )
    )
    server_errors = sum(count for e in endpoints for status, count in e.statuses().items() if status >= 500)
    if server_errors:
        raise SystemExit(f"{server_errors} responses were 5xx")


if __name__ == "__main__":
    main()
