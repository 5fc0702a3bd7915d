"""Scheduled-payment sweep throughput: N payments due today, executed by real Celery workers.

    .venv/bin/python bench/scheduled_sweep.py [--n 100000] [--workers 2] [--db opusof_bench_sweep] [--redis-db 6]

Recreates the scratch database, bulk-inserts N SCHD payments due today on both sides (ours and the sandbox bank's,
as ``initiate_payment`` with a date leaves them; 1 000 funded debtor accounts, no API), starts ``--workers`` solo
worker processes, fires the beat task ``payments.run_due_payments`` once and times until no payment is due. Then
checks exactly-once (one SCHD→ACSC history row and one bank debit per payment) and prints the figure. Target
(issue 6): 100 000 executed in under 120 s with 2 worker processes.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--db", default="opusof_bench_sweep")
    parser.add_argument("--redis-db", type=int, default=6)
    args = parser.parse_args()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "opusof.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
        # Payments of these amounts are plain settlements, not conformance scenarios.
        "OPUSOF_SANDBOX_SCENARIOS": "false",
    }
    os.environ.update(env)
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", args.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    subprocess.run(["redis-cli", "-n", str(args.redis_db), "flushdb"], check=False, stdout=subprocess.DEVNULL)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )

    import django

    django.setup()
    from django.db.models import Count

    from connectors.models import SandboxLedgerEntry
    from opusof.models import TppClient
    from opusof.timeutil import business_date
    from payments.models import PaymentStatusChange, PixPayment
    from payments.scheduling import payments_due
    from payments.tasks import run_due_payments
    from tests.support.due_payments_seed import seed_accounts, seed_due_payments

    today = business_date()
    client = TppClient.objects.create(
        client_id=f"bench-sweep-{uuid.uuid4().hex[:8]}", organisation_id=str(uuid.uuid4()), name="bench sweep"
    )
    started = time.monotonic()
    accounts = seed_accounts(args.accounts)
    seed_due_payments(client=client, accounts=accounts, count=args.n, day=today)
    print(f"seeded {args.n} due payments over {args.accounts} accounts in {time.monotonic() - started:.1f} s")

    logs = [ROOT / "var" / f"bench-sweep-worker-{i}.log" for i in range(args.workers)]
    workers = []
    for i, log in enumerate(logs):
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable, "-m", "celery", "-A", "opusof", "worker", "--pool", "solo",
                        "--hostname", f"sweep{i}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
                        "--loglevel", "INFO",
                    ],
                    env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
    try:
        while not all("ready." in log.read_text(errors="replace") for log in logs):
            time.sleep(0.2)
        started = time.monotonic()
        run_due_payments.delay()
        remaining = args.n
        while remaining:
            time.sleep(1)
            remaining = payments_due(today).count()
            elapsed = time.monotonic() - started
            if int(elapsed) % 10 == 0:
                print(f"{elapsed:6.1f} s  executed {args.n - remaining}/{args.n}", flush=True)
            if elapsed > 900:
                break
        elapsed = time.monotonic() - started
        print()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)

    moves = PaymentStatusChange.objects.filter(from_status="SCHD").values("payment").annotate(n=Count("id"))
    twice = moves.filter(n__gt=1).count()
    debits = SandboxLedgerEntry.objects.filter(direction=SandboxLedgerEntry.Direction.DEBIT).count()
    settled = PixPayment.objects.filter(status="ACSC").count()
    met = args.n >= 100_000 and elapsed < 120 and not remaining
    print(
        f"scheduled sweep: {args.n - remaining} of {args.n} payments executed in {elapsed:.1f} s "
        f"({(args.n - remaining) / elapsed:.0f}/s) with {args.workers} worker processes; "
        f"target < 120 s for 100 000: {'met' if met else 'not met'}"
    )
    print(f"exactly once: executed twice {twice}; bank debits {debits}; ACSC {settled}")


if __name__ == "__main__":
    main()
