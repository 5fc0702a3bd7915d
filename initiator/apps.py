from django.apps import AppConfig


class InitiatorConfig(AppConfig):
    name = "initiator"
    verbose_name = "Initiator gateway (Opus TPP)"
