"""The initiator gateway against our own holder, over real HTTP, in one run: what an application waits for per
gateway call, what the holder took for the calls the gateway made to it (HolderCall latency), and the difference —
the gateway's own cost (signing, verifying, database, tokens).

    .venv/bin/python bench/initiator.py [--n 30]

Creates a scratch database ``opusof_bench_initiator`` and a scratch var/ directory, loads the demo, starts gunicorn
(gthread: the gateway calls the holder inside the same server) and runs, n times and one after another: consent
through the gateway, the customer's approval on the holder's pages (not measured), the browser's return to the
gateway (code exchange + consent read), a payment through the proxy, and its read. Prints p50/p95 per call.
"""

import argparse
import os
import re
import secrets
import string
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from statistics import quantiles
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST, PORT = "127.0.0.1", 8766
BASE = f"http://{HOST}:{PORT}"
DB_NAME = "opusof_bench_initiator"
VAR_DIR = tempfile.mkdtemp(prefix="opusof-bench-initiator-")
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "opusof.settings.local",
    "DEBUG": "false",
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    "REDIS_URL": "redis://127.0.0.1:6379/10",
    "OPUSOF_BASE_URL": BASE,
    "OPUSOF_VAR_DIR": VAR_DIR,
    "LOG_LEVEL": "WARNING",
}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=ENV, check=True, stdout=subprocess.DEVNULL)


def prepare() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run(["redis-cli", "-n", "10", "flushdb"], check=False, stdout=subprocess.DEVNULL)
    manage("migrate", "--noinput")
    manage("load_demo")


def start_server() -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "opusof.wsgi",
        "--bind",
        f"{HOST}:{PORT}",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=ENV, cwd=ROOT)
    for _ in range(100):
        try:
            if httpx.get(f"{BASE}/health", timeout=1).status_code in (200, 503):
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def consent_body(callback: str, amount: str) -> dict[str, Any]:
    today = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("America/Sao_Paulo")).date().isoformat()
    return {
        "data": {
            "callbackApplicationUri": callback,
            "loggedUser": {"document": {"identification": "12345678909", "rel": "CPF"}},
            "creditor": {"personType": "PESSOA_JURIDICA", "cpfCnpj": "12345678000195", "name": "Loja Exemplo"},
            "payment": {
                "type": "PIX",
                "currency": "BRL",
                "amount": amount,
                "date": today,
                "details": {
                    "localInstrument": "DICT",
                    "proxy": "loja@example.com",
                    "creditorAccount": {
                        "ispb": "12345678",
                        "issuer": "0001",
                        "number": "90000001",
                        "accountType": "CACC",
                    },
                },
            },
        }
    }


def payment_body(amount: str) -> dict[str, Any]:
    suffix = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(11))
    return {
        "data": [
            {
                "endToEndId": f"E12345678{datetime.now(UTC):%Y%m%d%H%M}{suffix}",
                "localInstrument": "DICT",
                "proxy": "loja@example.com",
                "payment": {"amount": amount, "currency": "BRL"},
                "creditorAccount": {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"},
                "cnpjInitiator": "11222333000181",
            }
        ]
    }


def approve(customer: httpx.Client, url: str) -> str:
    """The customer on the holder's pages; returns the holder's redirect back to the gateway."""
    consent_url = customer.get(url).headers["location"]
    if consent_url.startswith("/auth/entrar/"):  # not yet logged in
        page = customer.get(consent_url)
        form = {"cpf": "12345678909", "password": "demo1234", "csrfmiddlewaretoken": _csrf(page.text)}
        consent_url = customer.post(consent_url, data=form).headers["location"]
    page = customer.get(consent_url)
    account = re.search(r'id="account-10000001" value="([^"]+)"', page.text)
    assert account is not None, page.text[:500]
    form = {"action": "approve", "account": account.group(1), "csrfmiddlewaretoken": _csrf(page.text)}
    return str(customer.post(consent_url, data=form).headers["location"])


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match is not None, html[:500]
    return match.group(1)


def holder_ms_since(mark: int) -> tuple[int, float]:
    from initiator.models import HolderCall

    rows = list(HolderCall.objects.filter(pk__gt=mark).values_list("pk", "latency_ms"))
    return (max((pk for pk, _ in rows), default=mark), float(sum(ms for _, ms in rows)))


def pct(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:7.1f} {values[0]:7.1f}" if values else "      -       -"
    cuts = quantiles(values, n=100, method="inclusive")
    return f"{cuts[49]:7.1f} {cuts[94]:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    options = parser.parse_args()
    prepare()
    os.environ.update(ENV)
    import django

    django.setup()
    import json

    credentials = json.loads((Path(VAR_DIR) / "initiator" / "application.json").read_text())
    headers = {
        "x-application-id": credentials["applicationId"],
        "authorization": f"Bearer {credentials['credential']}",
        "x-authorisation-server-id": credentials["authorisationServerId"],
    }
    server = start_server()
    figures: dict[str, dict[str, list[float]]] = {}
    mark = 0

    def timed(name: str, call: Any) -> httpx.Response:
        nonlocal mark
        started = time.perf_counter()
        response = call()
        total = (time.perf_counter() - started) * 1000
        mark, holder = holder_ms_since(mark)
        row = figures.setdefault(name, {"total": [], "holder": [], "added": []})
        row["total"].append(total)
        row["holder"].append(holder)
        row["added"].append(total - holder)
        return response

    try:
        with httpx.Client(base_url=BASE, timeout=60) as app, httpx.Client(base_url=BASE, timeout=60) as customer:
            for index in range(options.n + 1):  # the first round registers at the holder (DCR): not counted
                amount = f"{10 + index}.00"
                created = timed(
                    "POST consents",
                    lambda amount=amount: app.post(
                        "/opus-open-finance/payments/v1/consents",
                        json=consent_body(credentials["callbackApplicationUri"], amount),
                        headers=headers,
                    ),
                )
                assert created.status_code == 201, created.text
                consent_id = created.json()["data"]["consentId"]
                back = approve(customer, created.json()["data"]["redirectUrl"])
                mark, _ = holder_ms_since(mark)
                parts = urllib.parse.urlsplit(back)
                returned = timed("GET redirect-uri", lambda parts=parts: app.get(f"{parts.path}?{parts.query}"))
                assert returned.status_code == 302 and "result=success" in returned.headers["location"], returned.text
                paid = timed(
                    "POST pix/payments",
                    lambda consent_id=consent_id, amount=amount: app.post(
                        "/proxy/open-banking/payments/v4/pix/payments",
                        json=payment_body(amount),
                        headers={**headers, "x-consent-id": consent_id, "x-idempotency-key": secrets.token_hex(16)},
                    ),
                )
                assert paid.status_code == 201, paid.text
                payment_id = paid.json()["data"][0]["paymentId"]
                read = timed(
                    "GET pix/payments/{id}",
                    lambda payment_id=payment_id: app.get(
                        f"/proxy/open-banking/payments/v4/pix/payments/{payment_id}", headers=headers
                    ),
                )
                assert read.status_code == 200, read.text
                if index == 0:
                    figures.clear()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"initiator gateway against our holder, {options.n} sequential journeys, ms (p50 p95)")
    print(f"{'call':24} {'application waits':>17} {'holder calls':>17} {'gateway adds':>17}")
    for name, row in figures.items():
        print(f"{name:24} {pct(row['total']):>17} {pct(row['holder']):>17} {pct(row['added']):>17}")


if __name__ == "__main__":
    main()
