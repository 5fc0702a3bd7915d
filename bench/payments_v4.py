"""Payments v4 throughput over real HTTP: gunicorn (2 workers) on PostgreSQL + Redis, signed requests.

    .venv/bin/python bench/payments_v4.py [--n 1500] [--concurrency 8] [--worker-class gthread]

Creates a scratch database ``opusof_bench``, loads the sandbox demo, registers a bench TPP, starts gunicorn and
drives consent -> authorise (service, as the consent page would) -> payment -> get flows. Prints req/s and
p50/p95/p99 per endpoint, and the same for two trivial endpoints measured in the same run: the guide's reference
(a minimal DRF view with one PostgreSQL query and a PS256-signed body, bench/bench_urls.py) and the static JWKS.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import PreparedRequest, Result, run  # noqa: E402

HOST, PORT = "127.0.0.1", 8765
BASE = f"http://{HOST}:{PORT}"
API = "/open-banking/payments/v4"
DB_NAME = "opusof_bench"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench_settings",
    "PYTHONPATH": str(ROOT / "bench"),
    "DEBUG": "false",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/9",
    "OPUSOF_BASE_URL": BASE,
    "LOG_LEVEL": "WARNING",
    "DB_CONN_MAX_AGE": "600",
}
TARGETS = {"GET /pix/payments/{id}": 300, "POST /consents": 150, "POST /pix/payments": 100}


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=ENV, check=True, stdout=subprocess.DEVNULL)


def prepare_database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run(["redis-cli", "-n", "9", "flushdb"], check=False, stdout=subprocess.DEVNULL)
    manage("migrate", "--noinput")
    manage("load_demo")


def start_server(worker_class: str) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "opusof.wsgi",
        "--workers=2",
        f"--worker-class={worker_class}",
        f"--bind={HOST}:{PORT}",
        "--log-level=warning",
    ]
    if worker_class == "gthread":
        command.append("--threads=4")
    server = subprocess.Popen(command, env=ENV, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{BASE}/.well-known/jwks.json", timeout=1).read()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1500, help="consents and payments to create")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    args = parser.parse_args()

    prepare_database()
    os.environ.update(ENV)
    import django

    django.setup()
    from bench_tpp import BenchTpp

    tpp = BenchTpp.register()
    server = start_server(args.worker_class)
    results: list[Result] = []
    try:
        reference = [PreparedRequest("GET", "/bench/reference", {}) for _ in range(args.n * 2)]
        results.append(
            run("GET reference (1 query + PS256)", reference, host=HOST, port=PORT, concurrency=args.concurrency)
        )
        static = [PreparedRequest("GET", "/.well-known/jwks.json", {}) for _ in range(args.n * 2)]
        results.append(
            run("GET /.well-known/jwks.json (no DB)", static, host=HOST, port=PORT, concurrency=args.concurrency)
        )

        consents = run(
            "POST /consents",
            [tpp.create_consent_request(f"{API}/consents", i) for i in range(args.n)],
            host=HOST,
            port=PORT,
            concurrency=args.concurrency,
            keep_bodies=True,
        )
        results.append(consents)
        consent_ids = [tpp.decode(body)["data"]["consentId"] for body in consents.bodies]
        tokens = tpp.authorise(consent_ids)

        payments = run(
            "POST /pix/payments",
            [tpp.create_payment_request(f"{API}/pix/payments", token) for token in tokens],
            host=HOST,
            port=PORT,
            concurrency=args.concurrency,
            keep_bodies=True,
        )
        results.append(payments)
        payment_ids = [tpp.decode(body)["data"][0]["paymentId"] for body in payments.bodies]

        gets = [tpp.get_request(f"{API}/pix/payments/{payment_ids[i % len(payment_ids)]}") for i in range(args.n * 2)]
        results.append(run("GET /pix/payments/{id}", gets, host=HOST, port=PORT, concurrency=args.concurrency))
        consent_gets = [tpp.get_request(f"{API}/consents/{consent_ids[i % len(consent_ids)]}") for i in range(args.n)]
        results.append(run("GET /consents/{id}", consent_gets, host=HOST, port=PORT, concurrency=args.concurrency))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(
        f"\nopusof payments v4 bench: gunicorn 2 workers ({args.worker_class}), PostgreSQL, Redis, "
        f"concurrency {args.concurrency}, n={args.n}"
    )
    for result in results:
        print(result.line())
    baseline = results[0].rps
    print()
    failures = []
    for result in results[2:]:
        target = TARGETS.get(result.name)
        verdict = ""
        if target is not None:
            ok = result.rps >= target and result.percentile(95) < 150 and set(result.statuses) <= {200, 201}
            verdict = f"target >= {target} req/s, p95 < 150 ms: {'PASS' if ok else 'FAIL'}"
            if not ok:
                failures.append(result.name)
        print(f"{result.name:<38} {result.rps / baseline:>6.1%} of reference  {verdict}")
    print(json.dumps({r.name: {"rps": round(r.rps, 1), "p95_ms": round(r.percentile(95), 1)} for r in results}))
    if failures:
        raise SystemExit(f"below target: {failures}")


if __name__ == "__main__":
    main()
