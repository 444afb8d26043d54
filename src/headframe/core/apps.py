from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "headframe.core"
    label = "core"
    verbose_name = "headframe core"
