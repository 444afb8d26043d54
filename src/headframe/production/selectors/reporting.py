"""Who reports what, where and when: the reporting-level rule, the shift calendar's production day and
late deadline, and the units that have not reported a day.

- Reporting level: for each indicator and subtree there is one level that reports it. A figure of an
  indicator for a unit is refused when figures of that indicator, in the same calendar year, exist at an
  ancestor or a descendant of the unit (MonthlyTotal rows exist exactly where figures were entered).
- Calendar: a unit follows its own ShiftCalendar or the nearest ancestor's, else 3 × 8 h from 06:00 with a
  120-minute grace. A day's figures are late after the end of its last shift plus the grace.
- Missing reports: before the deadline a unit without figures is "not due yet"; after it, a site is
  reported only when all its reporting units (positions, else areas, else the site) have figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.db.models.functions import ExtractYear
from django.utils import timezone

from headframe.core.errors import ErrorItem
from headframe.core.messages import named
from headframe.org.models import Unit, UnitKind
from headframe.org.selectors import ancestor_paths
from headframe.production.calendar import DEFAULT_PATTERN, ShiftPattern
from headframe.production.models import Actual, DailyTotal, MonthlyTotal, ShiftCalendar

# --- shift calendar ------------------------------------------------------------------------------------


def calendars_for(units: Iterable[Unit]) -> dict[int, ShiftPattern]:
    """Each unit's shift pattern (with its late grace): its own calendar, else the nearest ancestor's, else
    the default 3 × 8 h from 06:00, grace 120 min. One query for any number of units."""
    units = list(units)
    paths = {p for u in units for p in ancestor_paths(u.path)}
    patterns = {
        path: ShiftPattern(count, start, hours, grace)
        for path, count, start, hours, grace in ShiftCalendar.objects.filter(
            unit__path__in=paths
        ).values_list("unit__path", "shift_count", "first_shift_start", "shift_hours", "late_grace_minutes")
    }
    out = {}
    for unit in units:
        found = [p for p in ancestor_paths(unit.path) if p in patterns]
        out[unit.pk] = patterns[found[-1]] if found else DEFAULT_PATTERN
    return out


def calendar_for(unit: Unit) -> ShiftPattern:
    """The unit's shift pattern (see calendars_for)."""
    return calendars_for([unit])[unit.pk]


def late_deadline(unit_or_pattern: Unit | ShiftPattern, day: dt.date) -> dt.datetime:
    """When figures of production day `day` become late for a unit (or pattern): the end of the day's last
    shift plus the calendar's grace. Aware, in local time."""
    pattern = unit_or_pattern if isinstance(unit_or_pattern, ShiftPattern) else calendar_for(unit_or_pattern)
    return pattern.late_deadline(day)


def production_day(unit_or_pattern: Unit | ShiftPattern, moment: dt.datetime) -> tuple[dt.date, int]:
    """(production day, shift) an aware moment belongs to on the unit's calendar: a shift crossing midnight
    belongs to the day it started."""
    pattern = unit_or_pattern if isinstance(unit_or_pattern, ShiftPattern) else calendar_for(unit_or_pattern)
    return pattern.shift_of(moment)


# --- reporting level -----------------------------------------------------------------------------------


def reporting_level_errors(rows) -> list[ErrorItem]:
    """One error per row whose indicator is already reported, in the same calendar year, at an ancestor or a
    descendant of its unit — stored, or elsewhere in the same batch. `rows` are (unit, indicator, day, shift,
    value, loc) tuples. One query, whatever the batch size."""
    if not rows:
        return []
    units = {r[0].pk: r[0] for r in rows}
    indicator_ids = {r[1].pk for r in rows}
    years = {r[2].year for r in rows}
    # Everything that can conflict lies in the subtree of the batch's common ancestor or above it.
    common = ancestor_paths(next(iter(units.values())).path)
    for unit in units.values():
        mine = ancestor_paths(unit.path)
        common = [p for p, q in zip(common, mine, strict=False) if p == q]
    common_path = common[-1] if common else "/"
    stored = (
        MonthlyTotal.objects.filter(
            Q(unit__path__startswith=common_path) | Q(unit__path__in=common[:-1]),
            indicator_id__in=indicator_ids,
            month__gte=dt.date(min(years), 1, 1),
            month__lte=dt.date(max(years), 12, 1),
        )
        .annotate(year=ExtractYear("month"))
        .values_list("indicator_id", "year", "unit__path", "unit__code", "unit__name_vi", "unit__name_en")
        .distinct()
    )
    # (indicator, year) → {path: (code, name, stored?)}, and {proper ancestor path: a path below it}
    at: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for indicator_id, year, path, code, name_vi, name_en in stored:
        name = {"vi": name_vi or code, "en": name_en or name_vi or code}  # a message parameter, as named()
        at[(indicator_id, year)][path] = (code, name, True)
    for unit, indicator, day, *_rest in rows:
        at[(indicator.pk, day.year)].setdefault(unit.path, (unit.code, named(unit), False))
    below: dict[tuple, dict[str, str]] = defaultdict(dict)
    for key, paths in at.items():
        for path, info in paths.items():
            for ancestor in ancestor_paths(path)[:-1]:
                current = below[key].get(ancestor)
                if current is None or (info[2] and not paths[current][2]):  # prefer a stored figure
                    below[key][ancestor] = path
    errors = []
    for unit, indicator, day, _shift, _value, loc in rows:
        key = (indicator.pk, day.year)
        paths = at[key]
        others = [p for p in ancestor_paths(unit.path)[:-1] if p in paths]
        if unit.path in below[key]:
            others.append(below[key][unit.path])
        if not others:
            continue
        other = max(others, key=lambda p: paths[p][2])  # a stored figure first
        code, name, is_stored = paths[other]
        params = {
            "indicator": named(indicator),
            "unit": named(unit),
            "other": name,
            "code": code,
            "year": str(day.year),
        }
        errors.append(
            ErrorItem(
                (*loc, "unit"),
                type="reporting_level",
                params=params,
                key="reporting_level.stored" if is_stored else "reporting_level.batch",
            )
        )
    return errors


# --- missing reports -----------------------------------------------------------------------------------


RECENT_DAYS = 14  # a reporting unit with figures in these days before a day is expected to report it


@dataclass
class MissingReport:
    """A unit whose figures of a day are not (all, or not on time) in. `state`: "not_due" (the deadline has
    not passed yet), "missing" (nothing), "partial" (some reporting units), "late" (all, some after the
    deadline). `reported` of `expected` reporting units have figures; `late` when any came late."""

    unit: Unit
    last_reported: dt.date | None
    late: bool = False
    state: str = "missing"
    reported: int = 0
    expected: int = 1
    deadline: dt.datetime | None = None


def _reporting_tiers(unit: Unit, below: list[tuple[int, str, str]]) -> list[list[tuple[int, str]]]:
    """The unit's candidate reporting units, by level: its positions, its areas, itself (non-empty only)."""
    inside = [(pk, path, kind) for pk, path, kind in below if path.startswith(unit.path) and pk != unit.pk]
    tiers = [
        [(pk, path) for pk, path, kind in inside if kind == k] for k in (UnitKind.POSITION, UnitKind.AREA)
    ]
    return [t for t in tiers if t] + [[(unit.pk, unit.path)]]


def missing_reports(
    root: Unit, day: dt.date, reporting_kinds=("site",), now: dt.datetime | None = None
) -> list[MissingReport]:
    """Units (by default every active site) in the subtree whose figures of `day` are not all in on time.

    A unit's reporting units are its work positions, else its areas, else itself — of those, the ones that
    reported in the RECENT_DAYS before the day (a pump station that never reports figures is not expected);
    a unit with no recent figures at any level expects all of the first level. A reporting unit
    has reported when it or a unit below it has a figure of the day. Units whose reporting units all reported
    on time are left out. Deadlines follow each unit's shift calendar."""
    now = now or timezone.now()
    units = list(
        Unit.objects.filter(path__startswith=root.path, kind__in=reporting_kinds, is_active=True).order_by(
            "path"
        )
    )
    if not units:
        return []
    calendars = calendars_for(units)
    below = list(
        Unit.objects.filter(path__startswith=root.path, is_active=True).values_list("pk", "path", "kind")
    )
    recent = set(
        DailyTotal.objects.filter(
            unit__path__startswith=root.path,
            day__gte=day - dt.timedelta(days=RECENT_DAYS),
            day__lt=day,
        )
        .values_list("unit_id", flat=True)
        .distinct()
    )
    figures: dict[str, set[bool]] = defaultdict(set)  # path → {is_late…} of the day's figures
    for path, is_late in (
        Actual.objects.filter(unit__path__startswith=root.path, day=day)
        .values_list("unit__path", "is_late")
        .distinct()
    ):
        figures[path].add(is_late)
    # A reporting unit has reported when it or a unit below it has: fold figures up to every ancestor.
    reached: dict[str, set[bool]] = defaultdict(set)
    for path, flags in figures.items():
        for ancestor in ancestor_paths(path):
            reached[ancestor] |= flags
    out = []
    for unit in units:
        tiers = _reporting_tiers(unit, below)
        expected = next(
            ([p for pk, p in t if pk in recent] for t in tiers if any(pk in recent for pk, _p in t)), None
        )
        expected = expected or [p for _pk, p in tiers[0]]
        reported = [p for p in expected if reached.get(p)]
        on_time = [p for p in reported if False in reached[p]]
        if len(on_time) == len(expected):
            continue
        deadline = calendars[unit.pk].late_deadline(day)
        if now <= deadline:
            state = "not_due"
        elif not reported:
            state = "missing"
        elif len(reported) < len(expected):
            state = "partial"
        else:
            state = "late"
        last = (
            day
            if reported
            else DailyTotal.objects.filter(unit__path__startswith=unit.path, day__lt=day)
            .order_by("-day")
            .values_list("day", flat=True)
            .first()
        )
        out.append(
            MissingReport(
                unit,
                last,
                late=len(on_time) < len(reported),
                state=state,
                reported=len(reported),
                expected=len(expected),
                deadline=deadline,
            )
        )
    return out
