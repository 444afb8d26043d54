"""What every page's shell needs: the navigation, the unit picker and the picked unit."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from headframe.org.models import UnitKind
from headframe.org.selectors import units_visible

# The modules of headframe; those not built yet are shown so the shell does not change as they land.
NAVIGATION = [
    ("home", _("Overview"), "web:home"),
    ("org", _("Organisation"), "web:unit-tree"),
    ("production", _("Production"), "production:dashboard"),
    ("entry", _("Enter figures"), "production:entry"),
    ("briefing", _("Briefings"), "briefing:index"),
    ("priorities", _("Key tasks"), "briefing:key-tasks"),
    ("telemetry", _("Safety monitoring"), "telemetry:group"),
    ("safety", _("Inspections & readiness"), "safety:index"),
    ("workforce", _("Workforce"), None),
    ("audit", _("Audit log"), "web:audit"),
]

PICKER_KINDS = [UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE]


def picked_unit(request):
    """The unit chosen in the picker, if the user still may see it."""
    code = request.session.get("unit")
    if not code or not request.user.is_authenticated:
        return None
    return units_visible(request.user).filter(code=code).first()


def shell(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    nav = [
        {"key": key, "label": label, "url": reverse(url_name) if url_name else None}
        for key, label, url_name in NAVIGATION
    ]
    options = list(
        units_visible(request.user)
        .filter(kind__in=PICKER_KINDS, is_active=True)
        .only("code", "name_vi", "name_en", "depth", "kind")
    )
    return {"nav": nav, "picker_units": options, "picked_unit": picked_unit(request)}
