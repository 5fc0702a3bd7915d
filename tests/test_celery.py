"""A real Celery worker process runs a task enqueued with ``delay_on_commit`` only once the transaction commits.

The worker runs ``opusof.tasks.probe`` (it reads the database and writes what it saw to a Redis key) on the test
database and the test run's Redis, consuming only the probe's own queue (``CELERY_TASK_ROUTES`` in the test
settings), so tasks other tests publish are never executed here. Its pool is ``solo``: one message at a time in
queue order, which is what lets a later "sentinel" task prove that an earlier message was never published.
"""

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from kombu import Queue

from opusof.celery import app
from opusof.context import interaction_id_var
from opusof.tasks import probe
from tests.support.celery_workers import celery_worker_command
from tests.support.processes import child_process_environment

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
QUEUE = settings.CELERY_TASK_ROUTES["opusof.tasks.probe"]["queue"]
DEADLINE_SECONDS = 60.0


def wait_for(key: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """Polls the cache until the probe wrote ``key``; fails with the worker's log past the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        seen = cache.get(key)
        if seen is not None:
            return seen
        if process.poll() is not None:
            pytest.fail(f"the worker exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)
    pytest.fail(f"no probe result for {key} within {DEADLINE_SECONDS} s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def worker_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("celery") / "worker.log"


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None, worker_log: Path, request: pytest.FixtureRequest
) -> Iterator[subprocess.Popen[bytes]]:
    """One worker process for the module, on the test database; ready once it ran a first probe.

    Stopped by the finaliser at the end of the module, before pytest-django drops the test database.
    """
    with app.connection_for_write() as conn:
        Queue(QUEUE)(conn.default_channel).purge()  # leftovers of an interrupted run
    env = child_process_environment()
    command = celery_worker_command(queue=QUEUE, name="probe", heartbeat=False)
    with worker_log.open("ab") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    request.addfinalizer(stop)
    ready = f"opusof:test-probe:{uuid.uuid4()}"
    probe.delay(ready)
    seen = wait_for(ready, process, worker_log)
    assert seen["database"] == connection.settings_dict["NAME"], "the worker must use the test database"
    yield process


def test_probe_is_a_django_task() -> None:
    # delay_on_commit comes from Celery's Django task class, which the Django fixup installs on the app.
    assert isinstance(probe, DjangoTask)


def test_delay_on_commit_runs_after_commit_and_sees_the_committed_row(
    worker: subprocess.Popen[bytes], worker_log: Path
) -> None:
    key = f"opusof:test-probe:{uuid.uuid4()}"
    sentinel = f"opusof:test-probe:{uuid.uuid4()}"
    users = get_user_model().objects.count()

    with transaction.atomic():
        get_user_model().objects.create_user(username=f"u-{uuid.uuid4().hex[:8]}")
        probe.delay_on_commit(key)
        # The worker is running and consumes in order: the sentinel, published now, is done while the block is
        # open, and the delayed probe has not been published behind it.
        probe.delay(sentinel)
        before_commit = wait_for(sentinel, worker, worker_log)
        assert cache.get(key) is None
        assert before_commit["users"] == users, "the worker must not see the uncommitted row"

    after_commit = wait_for(key, worker, worker_log)
    assert after_commit["users"] == users + 1
    assert after_commit["ranAt"] > before_commit["ranAt"]


def test_delay_on_commit_never_runs_after_a_rollback(worker: subprocess.Popen[bytes], worker_log: Path) -> None:
    key = f"opusof:test-probe:{uuid.uuid4()}"
    sentinel = f"opusof:test-probe:{uuid.uuid4()}"
    users = get_user_model().objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        get_user_model().objects.create_user(username=f"u-{uuid.uuid4().hex[:8]}")
        probe.delay_on_commit(key)
        raise RuntimeError("roll back")

    # Published after the rollback: had the rolled-back probe been published, the solo worker would run it first.
    probe.delay(sentinel)
    seen = wait_for(sentinel, worker, worker_log)
    assert seen["users"] == users
    assert cache.get(key) is None


def test_a_task_runs_with_the_interaction_id_of_the_request_that_enqueued_it(
    worker: subprocess.Popen[bytes], worker_log: Path
) -> None:
    key = f"opusof:test-probe:{uuid.uuid4()}"
    interaction_id = str(uuid.uuid4())

    token = interaction_id_var.set(interaction_id)  # what InteractionIdMiddleware does for a request
    try:
        with transaction.atomic():
            probe.delay_on_commit(key)
    finally:
        interaction_id_var.reset(token)
    untraced = f"opusof:test-probe:{uuid.uuid4()}"
    probe.delay(untraced)

    assert wait_for(key, worker, worker_log)["interactionId"] == interaction_id
    # The worker's context does not leak into the next task.
    assert wait_for(untraced, worker, worker_log)["interactionId"] is None


def test_every_beat_entry_names_a_task_autodiscovery_registers() -> None:
    app.loader.import_default_modules()

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "opusof.tasks.worker_heartbeat" in scheduled
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)
