from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BriefingConfig(AppConfig):
    name = "headframe.briefing"
    verbose_name = _("Briefings and key tasks")
