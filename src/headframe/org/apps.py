from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "headframe.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from headframe.core.messages import register
        from headframe.org.messages import MESSAGES

        register(MESSAGES)
