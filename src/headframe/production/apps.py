from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from headframe.core.messages import register
from headframe.production.messages import MESSAGES


class ProductionConfig(AppConfig):
    name = "headframe.production"
    label = "production"
    verbose_name = _("Production")

    def ready(self):
        # app registry: core.selectors imports core.models, which Django loads only after the app configs
        from headframe.core.selectors import register_repr_terms

        register(MESSAGES)
        register_repr_terms(indicator_names)


def indicator_names() -> dict[str, dict]:
    """Indicator code → its names, for the audit page (entries store the code)."""
    from headframe.production.models import Indicator  # app registry: apps.py loads before the models

    return {
        code: {"vi": name_vi, "en": name_en or name_vi}
        for code, name_vi, name_en in Indicator.objects.values_list("code", "name_vi", "name_en")
    }
