from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "headframe.telemetry"
    verbose_name = _("Safety telemetry")

    def ready(self):
        # local: registered once the app registry is ready (the catalogue's lazy texts need settings)
        from headframe.core.messages import register
        from headframe.telemetry.messages import MESSAGES

        register(MESSAGES)
