from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyConfig(AppConfig):
    name = "headframe.safety"
    verbose_name = _("Inspections and readiness")
