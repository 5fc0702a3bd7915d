"""Two independent platform instances over one PostgreSQL and one Redis, serving one TPP and sharing the due sweep.

    .venv/bin/python bench/two_instances.py [--due 2000] [--requests 100] [--ports 8131 8132]
        [--db opusof_two_instances] [--redis-db 7]

Recreates the database, seeds ``--due`` scheduled payments due today (ours and the sandbox bank's), then starts two
``manage.py run_platform`` (web + worker + beat each), on their own ports and ``OPUSOF_VAR_DIR``s but with the same
signing key and the same public base URL, as two hosts behind one load balancer would run. The TPP sends
``--requests`` consents and payments alternately to both; both beats fire the due sweep (``payments-run-due``,
every 60 s). Then it counts at the sandbox bank: every payment executed exactly once, and how many each instance's
sweepers executed (from their worker logs). docs/scaling.md quotes its figures.
"""

import argparse
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from loadgen import PreparedRequest  # noqa: E402

API = "/open-banking/payments/v4"
_EXECUTED = re.compile(r"execute_due_payments\[[^\]]+\] succeeded in [0-9.]+s: (\d+)")


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"instance on {port} exited with {process.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"instance on {port} not healthy after {timeout:.0f} s")


def send(port: int, request: PreparedRequest) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=2000, help="scheduled payments due today")
    parser.add_argument("--requests", type=int, default=100, help="consents and payments sent through the API")
    parser.add_argument("--ports", type=int, nargs=2, default=[8131, 8132])
    parser.add_argument("--db", default="opusof_two_instances")
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the sweep")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="opusof-two-"))
    public = f"http://127.0.0.1:{args.ports[0]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opusof.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        # One holder to the TPP: the same key signs both instances' responses, and the same public URL is the
        # audience of its signed requests whichever instance receives them.
        "OPUSOF_SIGNING_KEY_PATH": str(scratch / "holder-signing.pem"),
        "OPUSOF_BASE_URL": public,
        "OPUSOF_SANDBOX_SCENARIOS": "false",
        "OPUSOF_VAR_DIR": str(scratch / "setup"),
    }
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", args.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    subprocess.run(["redis-cli", "-n", str(args.redis_db), "flushdb"], check=False, stdout=subprocess.DEVNULL)
    for command in (["migrate", "--noinput"], ["load_demo"]):
        manage = [sys.executable, str(ROOT / "manage.py"), *command]
        subprocess.run(manage, env=env, check=True, stdout=subprocess.DEVNULL)
    os.environ.update(env)
    import django

    django.setup()
    from bench_tpp import BenchTpp

    from connectors.models import SandboxLedgerEntry, SandboxPayment
    from opusof.timeutil import business_date
    from payments.models import PaymentStatusChange, PixPayment
    from payments.scheduling import payments_due
    from tests.support.due_payments_seed import seed_accounts, seed_due_payments

    tpp = BenchTpp.register()
    today = business_date()
    due_ids = seed_due_payments(client=tpp.client, accounts=seed_accounts(200), count=args.due, day=today)

    instances, logs = [], []
    for index, port in enumerate(args.ports):
        var_dir = scratch / f"instance-{index + 1}"
        var_dir.mkdir()
        log = var_dir / "platform.log"
        logs.append(log)
        with log.open("wb") as out:
            instances.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "manage.py"), "run_platform", "--bind", f"127.0.0.1:{port}"],
                    env={**env, "OPUSOF_VAR_DIR": str(var_dir)},
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    started = time.monotonic()
    try:
        for port, process in zip(args.ports, instances, strict=True):
            wait_healthy(port, process)
        print(f"both instances healthy {time.monotonic() - started:.1f} s after start")

        statuses: dict[tuple[int, int], int] = {}

        def record(port: int, status: int) -> None:
            statuses[(port, status)] = statuses.get((port, status), 0) + 1

        consent_ids = []
        for i in range(args.requests):
            port = args.ports[i % 2]
            status, body = send(port, tpp.create_consent_request(f"{API}/consents", i))
            record(port, status)
            consent_ids.append(tpp.decode(body)["data"]["consentId"])
        tokens = tpp.authorise(consent_ids)
        api_ids = []
        for i, token in enumerate(tokens):
            port = args.ports[(i + 1) % 2]  # the other instance than the one that created the consent
            status, body = send(port, tpp.create_payment_request(f"{API}/pix/payments", token))
            record(port, status)
            api_ids.append(tpp.decode(body)["data"][0]["paymentId"])
        for i, payment_id in enumerate(api_ids):
            port = args.ports[i % 2]  # read back on the instance that did not create it
            status, _ = send(port, tpp.get_request(f"{API}/pix/payments/{payment_id}"))
            record(port, status)
        print("API statuses per instance:", dict(sorted(statuses.items())))

        while payments_due(today).exists() and time.monotonic() - started < args.timeout:
            time.sleep(1)
        swept = time.monotonic() - started
        # Sweepers report their counts when they finish; give the last ones a moment.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            per_instance = [sum(int(n) for n in _EXECUTED.findall(log.read_text(errors="replace"))) for log in logs]
            if sum(per_instance) >= args.due:
                break
            time.sleep(1)
    finally:
        for process in instances:
            process.send_signal(signal.SIGTERM)
        for process in instances:
            process.wait(timeout=60)

    moves = PaymentStatusChange.objects.filter(payment__payment_id__in=due_ids, from_status="SCHD")
    moved = moves.values_list("payment_id", flat=True)
    twice = len(moved) - len(set(moved))
    bank_settled = SandboxPayment.objects.filter(payment_id__in=due_ids, status="ACSC").count()
    debits = SandboxLedgerEntry.objects.filter(
        payment__payment_id__in=due_ids, direction=SandboxLedgerEntry.Direction.DEBIT
    )
    debited_payments = debits.values("payment").distinct().count()
    ours = PixPayment.objects.filter(payment_id__in=due_ids, status="ACSC").count()
    api_settled = PixPayment.objects.filter(payment_id__in=api_ids, status="ACSC").count()
    api_debits = SandboxLedgerEntry.objects.filter(
        payment__payment_id__in=api_ids, direction=SandboxLedgerEntry.Direction.DEBIT
    ).count()
    print(
        f"due sweep: {len(set(moved))} of {args.due} executed, done {swept:.1f} s after start; executed by instance: "
        f"{dict(zip(args.ports, per_instance, strict=True))}; executed twice {twice}; ACSC here {ours}, at the bank "
        f"{bank_settled}; bank debits {debits.count()} over {debited_payments} payments"
    )
    print(
        f"API payments: {api_settled} of {len(api_ids)} ACSC, {api_debits} bank debits; "
        f"{sum(n for (_, s), n in statuses.items() if s >= 500)} responses 5xx"
    )
    exactly_once = twice == 0 and debits.count() == debited_payments == ours == args.due and api_debits == api_settled
    print(f"exactly once: {'yes' if exactly_once else 'NO'} (logs in {scratch})")
    if not exactly_once:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
