"""Who reports what, where and when: the reporting-level rule, the shift calendar's production day and
late deadline, and the units that have not reported a day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from headframe.org.models import Unit
from headframe.production.models import Actual, DailyTotal


@dataclass
class MissingReport:
    unit: Unit
    last_reported: dt.date | None
    late: bool = False  # figures came, but after 08:00 the next morning


def missing_reports(root: Unit, day: dt.date, reporting_kinds=("site",)) -> list[MissingReport]:
    """Units (by default every active site) in the subtree that had not reported `day` by 08:00 the next
    morning: those with no figure at all, and those whose figures all came late (marked late)."""
    units = list(
        Unit.objects.filter(path__startswith=root.path, kind__in=reporting_kinds, is_active=True).order_by(
            "path"
        )
    )
    on_time, late = set(), set()
    for path, is_late in (
        Actual.objects.filter(unit__path__startswith=root.path, day=day)
        .values_list("unit__path", "is_late")
        .distinct()
    ):
        (late if is_late else on_time).add(path)
    out = []
    for unit in units:
        if any(p.startswith(unit.path) for p in on_time):
            continue
        came_late = any(p.startswith(unit.path) for p in late)
        last = (
            day
            if came_late
            else DailyTotal.objects.filter(unit__path__startswith=unit.path, day__lt=day)
            .order_by("-day")
            .values_list("day", flat=True)
            .first()
        )
        out.append(MissingReport(unit, last, came_late))
    return out
