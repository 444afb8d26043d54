from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "headframe.web"
    label = "web"
    verbose_name = "headframe web"
