from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from headframe.core.messages import register
from headframe.safety.messages import MESSAGES


class SafetyConfig(AppConfig):
    name = "headframe.safety"
    verbose_name = _("Inspections and readiness")

    def ready(self):
        register(MESSAGES)
