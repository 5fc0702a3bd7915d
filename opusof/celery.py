"""The Celery app. Configuration comes from Django settings (``CELERY_*``), the beat schedule included."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opusof.settings.local")

app = Celery("opusof")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Finds ``tasks.py`` in every installed app once Django's app registry is ready.
app.autodiscover_tasks()
