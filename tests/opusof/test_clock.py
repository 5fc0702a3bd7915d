"""The sandbox business clock (opusof/clock.py): forward only, reset, refused in production, one offset for every
process through the cache; ``manage.py sandbox_clock``; ``/sandbox/clock`` and who may call it."""

import base64
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from consents.models import ConsentStatus, PaymentConsent
from merchant.services.merchants import merchant_create, token_issue
from opusof import clock
from opusof.timeutil import business_date
from tests.factories.holder import ScheduledConsentFactory
from tests.support.processes import child_process_environment
from tests.support.tpp import TppActor

ROOT = Path(__file__).resolve().parents[2]
CLOCK = "/sandbox/clock"


@pytest.fixture(autouse=True)
def _real_time_after() -> Iterator[None]:
    yield
    cache.delete(clock.CACHE_KEY)
    clock.forget_local()


def _close(a: dt.datetime, b: dt.datetime) -> bool:
    return abs((a - b).total_seconds()) < 5


def test_advance_moves_now_and_the_business_date_forward_and_reset_returns_to_real_time():
    real_today = business_date(timezone.now())

    assert clock.advance(dt.timedelta(days=30)) == dt.timedelta(days=30)

    assert _close(clock.now(), timezone.now() + dt.timedelta(days=30))
    assert clock.today() == business_date() == real_today + dt.timedelta(days=30)
    assert clock.advance(dt.timedelta(days=2)) == dt.timedelta(days=32)  # moves add up
    clock.reset()
    assert clock.offset() == dt.timedelta(0)
    assert _close(clock.now(), timezone.now()) and clock.today() == real_today


@pytest.mark.parametrize("delta", [dt.timedelta(0), dt.timedelta(days=-1), dt.timedelta(seconds=-1)])
def test_the_clock_only_moves_forward(delta: dt.timedelta):
    with pytest.raises(clock.ClockRefused, match="só anda para a frente"):
        clock.advance(delta)
    assert clock.offset() == dt.timedelta(0)


def test_a_move_is_bounded():
    with pytest.raises(clock.ClockRefused, match="No máximo"):
        clock.advance(clock.MAX_ADVANCE + dt.timedelta(days=1))


def test_production_refuses_to_move_and_reads_real_time_without_the_cache(settings: Any):
    settings.OPUSOF_SANDBOX_CLOCK = False
    cache.set(clock.CACHE_KEY, 86400 * 40, timeout=None)  # an offset left behind must change nothing
    clock.forget_local()

    with pytest.raises(clock.ClockRefused, match="só se move em sandbox"):
        clock.advance(dt.timedelta(days=1))
    with pytest.raises(clock.ClockRefused):
        clock.reset()
    assert clock.offset() == dt.timedelta(0)
    assert _close(clock.now(), timezone.now())
    assert business_date() == business_date(timezone.now())


def _eventually(check: Any, seconds: float = 5.0) -> bool:
    """True once ``check()`` is: a stale read wakes the refresher thread and answers the old value meanwhile."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_another_process_sees_a_move_within_the_refresh_interval():
    assert clock.offset() == dt.timedelta(0)  # the first read of a process asks the cache
    cache.set(clock.CACHE_KEY, 86400 * 3, timeout=None)  # as another process's advance leaves it

    assert clock.offset() == dt.timedelta(0)  # remembered for REFRESH_SECONDS: no cache round trip per call
    time.sleep(clock.REFRESH_SECONDS + 0.1)
    assert _eventually(lambda: clock.offset() == dt.timedelta(days=3))


def test_the_process_that_moves_sees_its_move_at_once():
    assert clock.offset() == dt.timedelta(0)
    clock.advance(dt.timedelta(days=4))
    assert clock.offset() == dt.timedelta(days=4)
    time.sleep(clock.REFRESH_SECONDS + 0.1)
    clock.offset()
    time.sleep(0.3)  # a refresh in flight never undoes it
    assert clock.offset() == dt.timedelta(days=4)


@pytest.mark.django_db(transaction=True)
def test_moves_are_shared_across_processes_through_the_cache():
    def command(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", "sandbox_clock", *arguments],
            cwd=ROOT,
            env=child_process_environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    clock.advance(dt.timedelta(days=5))
    assert f"today {clock.today().isoformat()} in Sao Paulo" in command("show")

    command("advance", "2d")
    assert _eventually(lambda: clock.offset() == dt.timedelta(days=7))

    command("reset")
    assert _eventually(lambda: clock.offset() == dt.timedelta(0))


@pytest.mark.parametrize(
    ("text", "days"),
    [("30d", 30), ("30", 30), ("2w", 14), ("P30D", 30), ("P2W", 14), ("p1w2d", 9)],
)
def test_durations(text: str, days: int):
    assert clock.parse_advance(text) == dt.timedelta(days=days)


def test_a_month_is_the_calendar_month_from_the_business_date():
    start = clock.today()
    later = start + clock.parse_advance("P1M")
    assert later.day == start.day or later.day < start.day  # the 31st becomes the month's last day
    assert (later.year * 12 + later.month) - (start.year * 12 + start.month) == 1
    assert clock.parse_advance("1m") == clock.parse_advance("P1M")
    assert clock.parse_advance("12h") == dt.timedelta(hours=12)


@pytest.mark.parametrize("text", ["", "P", "-3d", "1y", "P1Y", "três dias", "3 dias"])
def test_bad_durations_are_refused(text: str):
    with pytest.raises(clock.ClockRefused, match="Duração inválida"):
        clock.parse_advance(text)


@pytest.mark.django_db
def test_command_advances_then_runs_the_sweeps_that_end_what_expired(tpp: TppActor, capsys: Any):
    consent = ScheduledConsentFactory.create(
        client=tpp.client,
        status=ConsentStatus.AWAITING_AUTHORISATION,
        expires_at=timezone.now() + dt.timedelta(minutes=5),
    )

    call_command("sandbox_clock", "advance", "1d")

    out = capsys.readouterr().out
    assert "consents.expire_due_consents: 1" in out
    assert f"today {(business_date(timezone.now()) + dt.timedelta(days=1)).isoformat()}" in out
    assert PaymentConsent.objects.get(pk=consent.pk).status == ConsentStatus.REJECTED
    with pytest.raises(CommandError, match="needs a duration"):
        call_command("sandbox_clock", "advance")
    with pytest.raises(CommandError, match="Duração inválida"):
        call_command("sandbox_clock", "advance", "ontem")


@pytest.mark.django_db
def test_command_in_production_refuses(settings: Any):
    settings.OPUSOF_SANDBOX_CLOCK = False
    with pytest.raises(CommandError, match="só se move em sandbox"):
        call_command("sandbox_clock", "advance", "1d")


@pytest.fixture
def shop(db: None) -> tuple[str, str, str]:
    merchant, secret = merchant_create(name="Loja do Relógio", redirect_url="https://loja.example.com/retorno")
    token, _ = token_issue(merchant=merchant)
    return merchant.client_id, secret, token


def test_endpoint_needs_a_merchant_or_staff(shop: tuple[str, str, str], django_user_model: Any):
    client_id, secret, token = shop
    anonymous = Client()
    assert anonymous.get(CLOCK).status_code == 401
    assert anonymous.post(CLOCK, {"days": 1}, content_type="application/json").json()["code"] == "unauthenticated"
    assert Client(headers={"authorization": "Bearer not-a-token"}).get(CLOCK).status_code == 401
    wrong = base64.b64encode(f"{client_id}:wrong".encode()).decode()
    assert Client(headers={"authorization": f"Basic {wrong}"}).get(CLOCK).status_code == 401
    customer = Client()
    customer.force_login(django_user_model.objects.create_user("cliente", password="pw"))
    assert customer.get(CLOCK).status_code == 401
    assert clock.offset() == dt.timedelta(0)

    by_token = Client(headers={"authorization": f"Bearer {token}"})
    moved = by_token.post(CLOCK, {"advance": "P3D"}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["offsetDays"] == 3 and moved.json()["today"] == clock.today().isoformat()
    assert "payments.execute_due_payments" in moved.json()["sweeps"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = Client(headers={"authorization": f"Basic {basic}"})
    assert by_basic.post(CLOCK, {"days": 2}, content_type="application/json").json()["offsetDays"] == 5
    assert by_basic.get(CLOCK).json()["offsetSeconds"] == 5 * 86400
    assert by_token.delete(CLOCK).json()["offsetSeconds"] == 0
    assert clock.offset() == dt.timedelta(0)


def test_staff_session_needs_the_csrf_token(db: None, django_user_model: Any):
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(django_user_model.objects.create_user("equipe", password="pw", is_staff=True))
    assert staff.get(CLOCK).status_code == 200
    assert staff.post(CLOCK, {"days": 1}, content_type="application/json").json()["code"] == "csrf_failed"
    assert clock.offset() == dt.timedelta(0)

    staff.get("/admin/")  # sets the csrftoken cookie
    csrf = staff.cookies["csrftoken"].value
    moved = staff.post(CLOCK, {"days": 1}, content_type="application/json", headers={"x-csrftoken": csrf})
    assert moved.status_code == 200 and moved.json()["offsetDays"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"days": 0}, "só anda para a frente"),
        ({"days": -2}, "só anda para a frente"),
        ({"advance": "ontem"}, "Duração inválida"),
        ({"days": True}, "Envie"),
        ([], "Envie"),
        ({"days": 9999}, "No máximo"),
    ],
)
def test_endpoint_refuses_bad_moves_and_changes_nothing(shop: tuple[str, str, str], body: Any, message: str):
    answer = Client(headers={"authorization": f"Bearer {shop[2]}"}).post(CLOCK, body, content_type="application/json")

    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_advance" and message in answer.json()["message"]
    assert clock.offset() == dt.timedelta(0)


def test_endpoint_is_absent_in_production(shop: tuple[str, str, str], settings: Any):
    settings.OPUSOF_SANDBOX_CLOCK = False
    by_token = Client(headers={"authorization": f"Bearer {shop[2]}"})
    for answer in (by_token.get(CLOCK), by_token.post(CLOCK, {"days": 1}, content_type="application/json")):
        assert answer.status_code == 404
        assert answer.json() == {
            "code": "not_available",
            "message": "O relógio de negócio só existe em sandbox; em produção o tempo é o real.",
        }
    settings.OPUSOF_SANDBOX_CLOCK = True
    assert clock.offset() == dt.timedelta(0)
