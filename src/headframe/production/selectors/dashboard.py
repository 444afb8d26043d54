"""The figures of a unit's production page (plan vs actual, its children, causes, early warnings, missing
reports, the charts), computed once and then served from memory until something they show has changed.

Fifty managers opening the group's and their companies' pages at the morning briefing would otherwise compute
the same plan-vs-actual over and over (0,2–0,5 s of CPU each); the page then renders from the cached figures in
a few tens of milliseconds. The key names everything the figures depend on, so a cached page never shows other
numbers than a fresh one would:
- the unit, the day, the children the user may see, the language (the chart's labels);
- the last audit entry and the last figure entered, each with its time (every service write — figures, plans,
  holidays, the catalogue, locks — audits in its own transaction; a rolled-back id used again has another time).
Time alone changes one thing: a report "not yet due" turns "missing" once its deadline passes, so an entry is kept
only until the earliest deadline among the reports it shows as not yet due.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from headframe.core.models import AuditEntry
from headframe.org.models import Unit, UnitKind
from headframe.production.calendar import month_days
from headframe.production.models import Actual
from headframe.production.selectors.outlook import (
    daily_plan_series,
    daily_series,
    early_warnings,
    top_reasons,
)
from headframe.production.selectors.reads import late_figures, month_locked
from headframe.production.selectors.reporting import missing_reports
from headframe.production.selectors.summary import children_summaries, unit_summary


def page_cache_seconds() -> int:
    """How long a cached page's figures may be kept at most. The key moves with every change; the bound is for
    PostgreSQL, where two writers may commit in the other order than they took their audit ids — a page built
    between the two commits keeps the later id's key without the earlier writer's figures — so there it is
    short. SQLite has one writer at a time: ids follow commits."""
    return 15 * 60 if connection.vendor == "sqlite" else 2 * 60


def production_version() -> str:
    """The last audit entry and the last figure entered, as `pk@time` each: what the figures depend on."""
    parts = []
    for last in (
        AuditEntry.objects.order_by("-pk").values_list("pk", "at").first(),
        Actual.objects.order_by("-pk").values_list("pk", "entered_at").first(),
    ):
        parts.append(f"{last[0]}@{last[1].timestamp():.6f}" if last else "-")
    return "|".join(parts)


def dashboard_figures(unit: Unit, on: dt.date, indicators: list, children: list[Unit]) -> dict:
    """What the production page of `unit` on day `on` shows for a user who sees `children`, from the cache
    while nothing it shows has changed (settings.PAGE_CACHE; off in the tests unless a test asks for it)."""
    if not settings.PAGE_CACHE:
        return _figures(unit, on, indicators, children)
    now = timezone.now()
    seen = hashlib.blake2b(",".join(str(c.pk) for c in children).encode(), digest_size=8).hexdigest()
    language = translation.get_language() or settings.LANGUAGE_CODE
    key = (
        f"production:dashboard:{unit.pk}:{on}:{seen}:{language}:"
        f"{','.join(str(i.pk) for i in indicators)}:{production_version()}"
    )
    entry = cache.get(key)
    if entry is not None and (entry[1] is None or now <= entry[1]):
        return entry[0]
    figures = _figures(unit, on, indicators, children, now=now)
    # The one thing time alone changes: a report "not yet due" turns "missing" once its deadline has passed.
    due = [m.deadline for m in figures["missing"] if m.state == "not_due" and m.deadline is not None]
    cache.set(key, (figures, min(due, default=None)), page_cache_seconds())
    return figures


def _figures(
    unit: Unit, on: dt.date, indicators: list, children: list[Unit], now: dt.datetime | None = None
) -> dict:
    key_indicators = [i for i in indicators if i.is_key]
    rows = unit_summary(unit, on, indicators)
    split = children_summaries(unit, on, key_indicators, children) if children else {}
    return {
        "rows": rows,
        "split": split,
        "reasons": top_reasons(unit, on),
        # Every level is evaluated, the unit itself included: a group behind its plan is a warning even
        # when no company is.
        "warnings": early_warnings(
            unit, on, [unit, *children], key_indicators, per_child={unit.code: rows, **split}
        ),
        "missing": missing_reports(unit, on, now=now)
        if unit.kind in (UnitKind.GROUP, UnitKind.COMPANY)
        else [],
        "chart": chart_data(unit, on, key_indicators),
        "locked": month_locked(unit, on),
        "late": late_figures(unit, on),
    }


def chart_data(unit: Unit, on: dt.date, key_indicators) -> dict:
    """Daily actual vs plan for the month, cumulative vs plan for the year, last year overlaid."""
    indicator = next(
        (i for i in key_indicators if i.code == "raw_coal_t"), key_indicators[0] if key_indicators else None
    )
    if indicator is None:
        return {}
    days = month_days(on.year, on.month)
    actual = daily_series(unit, indicator, days[0], on)
    plan = daily_plan_series(unit, indicator, on.year, on=on)
    last = daily_series(unit, indicator, dt.date(on.year - 1, 1, 1), dt.date(on.year - 1, 12, 31))
    year_days = [
        dt.date(on.year, 1, 1) + dt.timedelta(days=n) for n in range((on - dt.date(on.year, 1, 1)).days + 1)
    ]
    this_year = daily_series(unit, indicator, year_days[0], on)

    def cumulative(series, dates):
        total, out = 0.0, []
        for d in dates:
            total += float(series.get(d, 0))
            out.append(round(total, 1))
        return out

    last_dates = []
    for d in year_days:
        try:
            last_dates.append(d.replace(year=d.year - 1))
        except ValueError:
            last_dates.append(d.replace(year=d.year - 1, day=28))
    return {
        "indicator": indicator.name,
        "unit": indicator.unit_of_measure,
        "labels": {"actual": _("Actual"), "plan": _("Plan"), "last_year": _("Same period last year")},
        "month": {
            "labels": [d.strftime("%d/%m") for d in days],
            "actual": [float(actual[d]) if d in actual else None for d in days],
            "plan": [round(float(plan.get(d, 0)), 1) for d in days],
        },
        "year": {
            "labels": [d.strftime("%d/%m") for d in year_days],
            "actual": cumulative(this_year, year_days),
            "plan": cumulative(plan, year_days),
            "last_year": cumulative(last, last_dates),
        },
    }
