from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "opusof.outbox"
    label = "outbox"
    verbose_name = "webhook outbox"
    default_auto_field = "django.db.models.BigAutoField"
