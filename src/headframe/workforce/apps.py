from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkforceConfig(AppConfig):
    name = "headframe.workforce"
    verbose_name = _("Workforce")

    def ready(self):
        # local: registered once the app registry is ready (the catalogue's lazy texts need settings)
        from headframe.core.messages import register
        from headframe.workforce.messages import MESSAGES

        register(MESSAGES)
