"""Small reads: holidays, locks, the indicator catalogue and what the API and pages list."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from headframe.core.errors import ValidationFailed
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import units_visible
from headframe.production.models import (
    Actual,
    Deviation,
    Holiday,
    Indicator,
    PeriodLock,
    PlanMonth,
    PlanVersion,
)
from headframe.production.selectors.results import month_last_day
from headframe.safety.selectors import production_gate

# --- small reads used by the services ------------------------------------------------------------------


def holidays_in(year: int, unit: Unit | None = None) -> frozenset[dt.date]:
    """The year's non-working days: the group's, and with a unit also those of the unit and the units above
    it (a company's own day off holds in its subtree)."""
    paths = holidays_by_path(year)
    return holidays_of_path(paths, unit.path) if unit is not None else paths.get(None, frozenset())


def holidays_by_path(year: int) -> dict[str | None, frozenset[dt.date]]:
    """{unit path (None: the whole group): the year's holidays it declared}."""
    out: dict = defaultdict(set)
    for path, day in Holiday.objects.filter(day__year=year).values_list("unit__path", "day"):
        out[path].add(day)
    return {path: frozenset(days) for path, days in out.items()}


def holidays_of_path(paths: dict[str | None, frozenset[dt.date]], path: str) -> frozenset[dt.date]:
    days = set(paths.get(None, ()))
    for own_path, own in paths.items():
        if own_path is not None and path.startswith(own_path):
            days |= own
    return frozenset(days)


def site_types_of(units: Iterable[Unit]) -> dict[int, str]:
    """Each unit's site type: its own, or that of the site above it ('' for the group and companies)."""
    units = list(units)
    site_codes = {u.pk: u.path.strip("/").split("/")[2] for u in units if u.depth >= 2}
    types = dict(Unit.objects.filter(code__in=set(site_codes.values())).values_list("code", "site_type"))
    return {u.pk: types.get(site_codes.get(u.pk, ""), "") for u in units}


def locked_months(units: Iterable[Unit]) -> list[tuple[str, dt.date]]:
    paths = [u.path for u in units]
    if not paths:
        return []
    return [
        (path, month)
        for path, month in PeriodLock.objects.values_list("unit__path", "month")
        if any(p.startswith(path) for p in paths)
    ]


def is_locked(unit: Unit, day: dt.date, locks: list[tuple[str, dt.date]]) -> bool:
    month = day.replace(day=1)
    return any(unit.path.startswith(path) and locked == month for path, locked in locks)


def reported_at(indicator: Indicator, site_type: str) -> bool:
    """Whether units of a site of this type report the indicator (above site level: any indicator)."""
    return not indicator.site_types or not site_type or site_type in indicator.site_types


def reportable_indicators(unit: Unit) -> list[Indicator]:
    """What a unit enters: active, not derived, and reported at its site's type."""
    site_type = site_types_of([unit]).get(unit.pk, "")
    return [i for i in indicators_for() if not i.is_derived and reported_at(i, site_type)]


def indicators_for(key_only: bool = False) -> list[Indicator]:
    qs = Indicator.objects.filter(is_active=True).select_related("numerator", "denominator", "weight")
    if key_only:
        qs = qs.filter(is_key=True)
    return list(qs)


# --- reads for the API and pages -----------------------------------------------------------------------


def default_day() -> dt.date:
    """Yesterday, local: the last complete production day (what a dispatcher reviews at 5 a.m.)."""
    return timezone.localdate() - dt.timedelta(days=1)


def indicators_by_codes(codes: Iterable[str]) -> list[Indicator]:
    codes = [c.strip() for c in codes if c.strip()]
    found = {i.code: i for i in indicators_for() if i.code in codes}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise ValidationFailed(
            loc=("query", "indicators"),
            type="unknown_indicator",
            params={"indicators": unknown},
            key="unknown_indicator.list",
        )
    return [found[c] for c in codes]


def actuals_of(unit: Unit, since: dt.date, until: dt.date, indicator: str | None = None, limit: int = 10000):
    qs = Actual.objects.filter(unit__path__startswith=unit.path, day__gte=since, day__lte=until)
    if indicator:
        qs = qs.filter(indicator__code=indicator)
    return qs.select_related("unit", "indicator", "entered_by").order_by(
        "day", "unit__path", "indicator", "shift"
    )[:limit]


def plan_versions(unit: Unit, year: int):
    return (
        PlanVersion.objects.filter(unit=unit, year=year)
        .select_related("unit", "approved_by")
        .order_by("effective_from")
    )


def plan_months(version: PlanVersion) -> dict[str, list[float]]:
    """Indicator code → the version's twelve monthly figures (0.0 for a month it does not set)."""
    months: dict[str, list[float]] = defaultdict(lambda: [0.0] * 12)
    for code, month, value in PlanMonth.objects.filter(version=version).values_list(
        "indicator__code", "month", "value"
    ):
        months[code][month - 1] = float(value)
    return dict(months)


def units_to_report(user) -> QuerySet[Unit]:
    """The units below the group that the user may report figures for, by path."""
    return units_visible(user, Perm.REPORT).exclude(kind=UnitKind.GROUP).order_by("path")


def import_units(user) -> QuerySet[Unit]:
    """The units the import page offers a template for: companies, sites and areas the user may report for."""
    return units_to_report(user).filter(kind__in=[UnitKind.COMPANY, UnitKind.SITE, UnitKind.AREA])[:300]


def deviations_of(unit: Unit, month: dt.date):
    first = month.replace(day=1)
    return (
        Deviation.objects.filter(
            unit__path__startswith=unit.path, day__gte=first, day__lte=month_last_day(first)
        )
        .select_related("unit", "indicator")
        .order_by("-day", "unit__path")
    )


def children_of(unit: Unit, visible=None) -> list[Unit]:
    qs = Unit.objects.filter(parent=unit, is_active=True).order_by("code")
    if visible is not None:
        qs = qs.filter(pk__in=visible.values("pk"))
    return list(qs)


def stored_values(unit: Unit, day: dt.date) -> dict[tuple[str, int], tuple[Decimal, bool]]:
    """(indicator code, shift) → (stored value, entered late) for one unit and day (the form's pre-fill)."""
    return {
        (code, shift): (value, late)
        for code, shift, value, late in Actual.objects.filter(unit=unit, day=day).values_list(
            "indicator__code", "shift", "value", "is_late"
        )
    }


def late_figures(unit: Unit, on: dt.date) -> int:
    """How many of the month's figures in the subtree were entered after 08:00 the next morning."""
    return Actual.objects.filter(
        unit__path__startswith=unit.path, day__gte=on.replace(day=1), day__lte=on, is_late=True
    ).count()


def month_locked(unit: Unit, on: dt.date) -> bool:
    return is_locked(unit, on, locked_months([unit]))


def reporting_units(unit: Unit) -> list[Unit]:
    """The units a template for `unit` lists: its work positions, else its areas, else itself."""
    below = Unit.objects.filter(path__startswith=unit.path, is_active=True).exclude(pk=unit.pk)
    for kind in ("position", "area"):
        units = list(below.filter(kind=kind).order_by("path"))
        if units:
            return units
    return [unit]


def entry_gate(unit: Unit, day: dt.date):
    """Why figures of `unit` on `day` are gated by a safety campaign (a GateBlock: mode "reject" refuses them,
    "flag" stores them for review), or None."""
    if unit.kind != UnitKind.POSITION:
        return None
    block = production_gate({unit.pk}).get(unit.pk)
    return block if block is not None and day >= block.starts_on else None
