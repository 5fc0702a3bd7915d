from django.apps import AppConfig


class RecurringConfig(AppConfig):
    name = "recurring"
