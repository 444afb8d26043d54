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

        # the readiness gate of safety knows who may work where (safety may not import workforce)
        from headframe.safety.readiness_hooks import register_readiness_check
        from headframe.workforce.selectors.training import UNFIT_CODE, readiness_check

        register_readiness_check(readiness_check, codes=(UNFIT_CODE,))

        # the briefing pack's workforce section and the key-task KPIs read from this module (briefing sits below)
        from headframe.briefing.extensions import register_kpi_measure, register_pack_section
        from headframe.workforce.selectors.briefing import MEASURES, PACK_SECTION

        register_pack_section(PACK_SECTION)
        for measure in MEASURES:
            register_kpi_measure(measure)
