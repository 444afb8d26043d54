from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "headframe.telemetry"
    verbose_name = _("Safety telemetry")

    def ready(self):
        # local: registered once the app registry is ready (the catalogue's lazy texts need settings)
        from headframe.core import live_bus
        from headframe.core.messages import register
        from headframe.telemetry.messages import MESSAGES
        from headframe.telemetry.selectors import journal_wakes

        register(MESSAGES)
        live_bus.watch(journal_wakes)  # SQLite: an alarm transition wakes the live pages at once
