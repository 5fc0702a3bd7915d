"""The Celery app. Configuration comes from Django settings (``CELERY_*``), the beat schedule included."""

import os
from typing import Any

from celery import Celery, Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from opusof.context import interaction_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opusof.settings.local")

app = Celery("opusof")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Finds ``tasks.py`` in every installed app once Django's app registry is ready.
app.autodiscover_tasks()

_INTERACTION_HEADER = "interaction_id"


# A task enqueued while serving a request logs with that request's x-fapi-interaction-id, so one id follows a
# TPP's call into the work it caused (status polling, webhooks).
@before_task_publish.connect
def _carry_interaction_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    interaction_id = interaction_id_var.get()
    if headers is not None and interaction_id and _INTERACTION_HEADER not in headers:
        headers[_INTERACTION_HEADER] = interaction_id


@task_prerun.connect
def _bind_interaction_id(task: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    interaction_id = getattr(task.request, _INTERACTION_HEADER, None) if task is not None else None
    interaction_id_var.set(interaction_id if isinstance(interaction_id, str) else None)


@task_postrun.connect
def _unbind_interaction_id(**kwargs: Any) -> None:
    interaction_id_var.set(None)
