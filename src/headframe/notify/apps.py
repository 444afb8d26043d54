from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "headframe.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self):
        from headframe.core.messages import register
        from headframe.notify.messages import MESSAGES

        register(MESSAGES)
