from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "headframe.core"
    label = "core"
    verbose_name = "headframe core"

    def ready(self) -> None:
        from headframe.core import checks  # noqa: F401  (registers the system checks)
