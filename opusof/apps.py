from django.apps import AppConfig


class OpusofConfig(AppConfig):
    name = "opusof"
    verbose_name = "Plataforma"

    def ready(self) -> None:
        from opusof.admin_labels import apply_admin_labels

        apply_admin_labels()
