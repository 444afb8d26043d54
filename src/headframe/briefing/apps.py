from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BriefingConfig(AppConfig):
    name = "headframe.briefing"
    verbose_name = _("Briefings and key tasks")

    def ready(self):
        # local: registered once the app registry is ready (the catalogue's lazy texts need settings)
        from headframe.briefing.messages import MESSAGES
        from headframe.core.messages import register

        register(MESSAGES)
