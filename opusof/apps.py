from django.apps import AppConfig


class OpusofConfig(AppConfig):
    name = "opusof"
    verbose_name = "opusof platform"
