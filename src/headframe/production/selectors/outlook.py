"""Causes, early warnings and daily series: what explains a shortfall and what the year is heading for."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import or_

from django.db.models import Case, CharField, Count, Q, Sum, Value, When

from headframe.org.models import Unit
from headframe.production.models import Aggregation, DailyTotal, Deviation, Indicator, LostTimeCategory
from headframe.production.selectors.plans import _plan_series
from headframe.production.selectors.reads import children_of, holidays_in, indicators_for
from headframe.production.selectors.results import RATE_QUANTUM, ZERO
from headframe.production.selectors.summary import children_summaries, unit_summary
from headframe.production.selectors.totals import WHOLE


@dataclass
class ReasonTotal:
    category: str
    label: str
    occurrences: int
    lost_hours: Decimal
    shortfall: Decimal


def top_reasons(unit: Unit, on: dt.date, limit: int = 5) -> list[ReasonTotal]:
    """The month's deviations in the subtree by reason, largest shortfall first."""
    rows = (
        Deviation.objects.filter(unit__path__startswith=unit.path, day__gte=on.replace(day=1), day__lte=on)
        .values("category")
        .annotate(n=Count("id"), hours=Sum("lost_hours"), shortfall=Sum("shortfall"))
        .order_by("-shortfall", "-hours")[:limit]
    )
    return [
        ReasonTotal(
            r["category"], str(LostTimeCategory(r["category"]).label), r["n"], r["hours"], r["shortfall"]
        )
        for r in rows
    ]


@dataclass
class EarlyWarning:
    unit: Unit
    indicator: Indicator
    required_daily: Decimal
    best_30_day_rate: Decimal
    year_plan: Decimal
    ytd_actual: Decimal


def best_30_day_rates(
    units: list[Unit], indicators: list[Indicator], on: dt.date
) -> dict[tuple[str, int], Decimal]:
    """(unit code, indicator id) → the unit's best 30-day average output per working day in the 365 days
    up to `on`. The database sums per unit subtree and day (one row per unit-day, not per reporting unit)."""
    start = on - dt.timedelta(days=364)
    holidays = holidays_in(on.year) | holidays_in(on.year - 1)
    if not units or not indicators:
        return {}
    owner = Case(
        *[When(unit__path__startswith=u.path, then=Value(u.code)) for u in units],
        default=Value(""),
        output_field=CharField(),
    )
    per_unit_day = defaultdict(dict)
    rows = (
        DailyTotal.objects.filter(indicator__in=indicators, day__gte=start, day__lte=on)
        .filter(reduce(or_, (Q(unit__path__startswith=u.path) for u in units)))
        .annotate(owner=owner)
        .values("owner", "indicator_id", "day")
        .annotate(total=Sum("value"))
    )
    for row in rows:
        per_unit_day[(row["owner"], row["indicator_id"])][row["day"]] = row["total"]
    days = [start + dt.timedelta(days=i) for i in range(365)]
    work = [0 if d in holidays else 1 for d in days]
    rates = {}
    for unit in units:
        for indicator in indicators:
            series = per_unit_day.get((unit.code, indicator.pk), {})
            values = [series.get(d, ZERO) for d in days]
            best, window_sum, window_work = ZERO, ZERO, 0
            for i, (value, w) in enumerate(zip(values, work, strict=True)):
                window_sum += value
                window_work += w
                if i >= 30:
                    window_sum -= values[i - 30]
                    window_work -= work[i - 30]
                if i >= 29 and window_work:
                    best = max(best, window_sum / window_work)
            rates[(unit.code, indicator.pk)] = best.quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    return rates


def early_warnings(
    root: Unit, on: dt.date, units: list[Unit], indicators: list[Indicator], per_child: dict | None = None
) -> list[EarlyWarning]:
    """Units whose daily rate still needed to meet the year's plan exceeds the best 30-day rate they have
    achieved in the past year: they will miss the year unless something changes. `units` are units below
    root and may include root itself (over its whole subtree): a group behind its plan is a warning even
    when no company is. `per_child` may pass in children_summaries(root, on, indicators, units) — and the
    root's own summary under its code — when the caller has them already (the dashboard, the pack)."""
    additive = [i for i in indicators if i.aggregation == Aggregation.SUM and i.higher_is_better]
    if not units or not additive:
        return []
    below = [u for u in units if u.pk != root.pk]
    if per_child is None:
        per_child = children_summaries(root, on, additive, below) if below else {}
    wanted = {i.pk for i in additive}
    per_unit = {code: [s for s in rows if s.indicator.pk in wanted] for code, rows in per_child.items()}
    best = best_30_day_rates(below, additive, on)
    if len(below) < len(units):  # the root itself, over its whole subtree
        if root.code not in per_unit:
            per_unit[root.code] = unit_summary(root, on, additive)
        best |= best_30_day_rates([root], additive, on)
    warnings = []
    for unit in units:
        for s in per_unit.get(unit.code, []):
            if s.required_daily_year is None or s.year_plan is None:
                continue
            rate = best[(unit.code, s.indicator.pk)]
            if s.required_daily_year > rate:
                warnings.append(
                    EarlyWarning(
                        unit, s.indicator, s.required_daily_year, rate, s.year_plan, s.ytd.actual or ZERO
                    )
                )
    warnings.sort(
        key=lambda w: (w.required_daily / w.best_30_day_rate) if w.best_30_day_rate else Decimal(10**9),
        reverse=True,
    )
    return warnings


def daily_series(unit: Unit, indicator: Indicator, start: dt.date, end: dt.date) -> dict[dt.date, Decimal]:
    """Day-by-day actual totals of an additive indicator over the subtree (for charts)."""
    rows = (
        DailyTotal.objects.filter(
            unit__path__startswith=unit.path, indicator=indicator, day__gte=start, day__lte=end
        )
        .values("day")
        .annotate(total=Sum("value"))
    )
    return {r["day"]: r["total"] for r in rows}


def daily_plan_series(
    unit: Unit, indicator: Indicator, year: int, on: dt.date | None = None
) -> dict[dt.date, Decimal]:
    """Day by day plan of the year, from the versions in force on `on` (default: the year's end)."""
    series = _plan_series(unit, [indicator], year, lambda _p: WHOLE, on=on)
    cumulative = series.cumulative.get((WHOLE, indicator.pk))
    if cumulative is None:
        return {}
    start = dt.date(year, 1, 1)
    return {
        start + dt.timedelta(days=i): cumulative[i + 1] - cumulative[i] for i in range(len(cumulative) - 1)
    }


def early_warnings_below(root: Unit, on: dt.date, visible) -> list[EarlyWarning]:
    """Early warnings for root and the units one level below it (the group and its companies, a company
    and its sites…)."""
    children = children_of(root, visible)
    return early_warnings(root, on, [root, *children], indicators_for(key_only=True))
