"""What every page's shell needs: the navigation, the unit picker and the picked unit."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import picked_unit, scope_for, units_visible

# The modules of headframe, each with the permission a user needs somewhere to use it; those not built yet
# are shown so the shell does not change as they land. A user sees only the entries they may use.
NAVIGATION = [
    ("home", _("Overview"), "web:home", Perm.VIEW),
    ("org", _("Organisation"), "web:unit-tree", Perm.VIEW),
    ("production", _("Production"), "production:dashboard", Perm.VIEW),
    ("entry", _("Enter figures"), "production:entry", Perm.REPORT),
    ("briefing", _("Briefings"), "briefing:index", Perm.VIEW),
    ("priorities", _("Key tasks"), "briefing:key-tasks", Perm.VIEW),
    ("telemetry", _("Safety monitoring"), "telemetry:group", Perm.VIEW),
    ("safety", _("Inspections & readiness"), "safety:index", Perm.VIEW),
    ("workforce", _("Workforce"), "workforce:index", Perm.VIEW),
    ("audit", _("Audit log"), "web:audit", Perm.AUDIT),
]


def holds_anywhere(user, perm: str) -> bool:
    """The user holds perm on at least one unit (a superuser everywhere)."""
    scope = scope_for(user)
    return scope.is_superuser or bool(scope.paths(perm))


PICKER_KINDS = [UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE]


def shell(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    nav = [
        {"key": key, "label": label, "url": reverse(url_name) if url_name else None}
        for key, label, url_name, perm in NAVIGATION
        if holds_anywhere(request.user, perm)
    ]
    options = list(
        units_visible(request.user)
        .filter(kind__in=PICKER_KINDS, is_active=True)
        .only("code", "name_vi", "name_en", "depth", "kind")
    )
    return {"nav": nav, "picker_units": options, "picked_unit": picked_unit(request)}
