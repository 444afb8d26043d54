"""Workforce pages: the roster of a mine, area or position for a day (positions × shifts), a crew set by
employee numbers, last week copied, a roster workbook imported. Writes through workforce.services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from headframe.core.errors import HeadframeError, NotFound
from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.org.models import SiteType, UnitKind
from headframe.org.selectors import picked_unit, units_visible
from headframe.workforce.selectors.rosters import roster_grid
from headframe.workforce.services import roster_copy_week, roster_set
from headframe.workforce.services.roster_import import rosters_import
from headframe.workforce.views._common import day_asked, located

NAV = {"active_nav": "workforce"}


@login_required
def rosters_home(request):
    """The roster of the unit picked in the header, else of the first underground mine the user may see."""
    picked = picked_unit(request)
    if picked is not None and picked.kind in (UnitKind.SITE, UnitKind.AREA, UnitKind.POSITION):
        return redirect("workforce:rosters", unit=picked.code)
    sites = units_visible(request.user).filter(kind=UnitKind.SITE, is_active=True)
    if picked is not None:
        sites = sites.filter(path__startswith=picked.path)
    site = (
        sites.filter(site_type=SiteType.UNDERGROUND).order_by("path").first()
        or sites.order_by("path").first()
    )
    if site is None:
        raise Http404("no mine")
    return redirect("workforce:rosters", unit=site.code)


@login_required
@require_http_methods(["GET", "POST"])
def rosters(request, unit: str):
    day = day_asked(request, "day")
    try:
        grid = roster_grid(request.user, unit, day)
    except NotFound:
        raise Http404(unit) from None
    if request.method == "POST":
        _post(request, grid.unit.code, day)
        return redirect(f"{reverse('workforce:rosters', args=[grid.unit.code])}?day={day.isoformat()}")
    monday = day - dt.timedelta(days=day.weekday())
    context = {
        "grid": grid,
        "site": grid.unit if grid.unit.kind == UnitKind.SITE else None,
        "day": day,
        "previous": (day - dt.timedelta(days=1)).isoformat(),
        "next": (day + dt.timedelta(days=1)).isoformat(),
        "monday": monday,
        "last_monday": monday - dt.timedelta(days=7),
        "shift_numbers": list(range(1, grid.shifts + 1)),
        **NAV,
    }
    return render(request, "workforce/rosters.html", context)


def _post(request, unit_code: str, day: dt.date) -> None:
    action = request.POST.get("action", "")
    try:
        if action == "set":
            numbers = request.POST.get("employee_nos", "").replace(",", " ").split()
            shift = request.POST.get("shift", "")
            crew = roster_set(
                actor=request.user,
                position_code=request.POST.get("position", ""),
                day=day,
                shift=int(shift) if shift.isdigit() else 0,
                employee_nos=numbers,
            )
            messages.success(request, _("Crew saved: %(n)s people.") % {"n": crew})
        elif action == "copy":
            monday = day - dt.timedelta(days=day.weekday())
            rows = roster_copy_week(
                actor=request.user,
                unit_code=unit_code,
                from_monday=monday - dt.timedelta(days=7),
                to_monday=monday,
            )
            messages.success(request, _("Last week's rosters copied: %(n)s rows.") % {"n": rows})
        elif action == "import" and request.FILES.get("file"):
            upload = request.FILES["file"]
            rows = rosters_import(
                actor=request.user, content=upload.read(MAX_UPLOAD_BYTES + 1), filename=upload.name or ""
            )
            messages.success(request, _("Rosters imported: %(n)s people.") % {"n": rows})
        else:
            messages.error(request, _("Choose what to do: set a crew, copy last week or import a workbook."))
    except HeadframeError as exc:
        for item in exc.items[:20]:
            messages.error(request, located(item))
        if len(exc.items) > 20:
            messages.error(request, _("…and %(n)s more.") % {"n": len(exc.items) - 20})


urlpatterns = [
    path("rosters/", rosters_home, name="rosters-home"),
    path("rosters/<str:unit>/", rosters, name="rosters"),
]
