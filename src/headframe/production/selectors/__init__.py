"""Reads of production data. Plan versus actual: the one place for the arithmetic.

For any unit (its whole subtree) and date: day, month-to-date and year-to-date actual and plan, % of plan,
the same period last year, run-rate forecasts and the daily rate still needed — per indicator, respecting
its aggregation. Reads the materialised DailyTotal/MonthlyTotal rows, so a group-wide year-to-date figure
reads about twelve rows per reporting unit.

Conventions
- Plans: a unit's plan is its own plan versions if it has them, else the sum of its planned descendants
  (the top-most planned units under it). Each day's plan comes from the version in force that day: the
  month's figure spread over the month's working days (every day except group holidays).
- Forecasts and required rates count working days: the rate so far × working days, and what is left of
  the plan ÷ working days left after the date.
- Derived indicators (ratios) are computed from the totals of their terms at every level, never summed.

Layout: `summary` (the engine) over `totals` (actual rows), `plans` (plan series) and `results` (what it returns);
`outlook` (causes, early warnings, daily series); `reads` (small reads for services, API and pages);
`reporting` (who reports what and when) and `plausibility` (what a figure is likely to be).
"""

from __future__ import annotations

from headframe.production.selectors.outlook import (
    EarlyWarning,
    ReasonTotal,
    best_30_day_rates,
    daily_plan_series,
    daily_series,
    early_warnings,
    early_warnings_below,
    top_reasons,
)
from headframe.production.selectors.plans import IN_FORCE, ORIGINAL
from headframe.production.selectors.plausibility import (
    BEST_WINDOW_DAYS,
    Bounds,
    bounds_for,
    plausibility_check,
    ranges_visible,
)
from headframe.production.selectors.reads import (
    actuals_of,
    children_of,
    default_day,
    deviations_of,
    entry_gate,
    holidays_in,
    import_units,
    indicators_by_codes,
    indicators_for,
    is_locked,
    late_figures,
    locked_months,
    month_locked,
    plan_months,
    plan_versions,
    reportable_indicators,
    reported_at,
    reporting_units,
    site_types_of,
    stored_values,
    units_to_report,
)
from headframe.production.selectors.reporting import (
    RECENT_DAYS,
    MissingReport,
    calendar_for,
    calendars_for,
    late_deadline,
    missing_reports,
    production_day,
    reporting_level_errors,
)
from headframe.production.selectors.results import (
    AMBER_FROM,
    GREEN_FROM,
    RATE_QUANTUM,
    ZERO,
    Figure,
    IndicatorSummary,
)
from headframe.production.selectors.summary import (
    DayFigures,
    children_summaries,
    day_figures,
    summaries,
    unit_summary,
)
from headframe.production.selectors.totals import (
    DAYS,
    MONTH_LESS_TAIL,
    MONTHS,
    NOT_COUNTED,
    PERIODS,
    WHOLE,
    Buckets,
)

__all__ = [
    "AMBER_FROM",
    "BEST_WINDOW_DAYS",
    "DAYS",
    "GREEN_FROM",
    "IN_FORCE",
    "MONTHS",
    "MONTH_LESS_TAIL",
    "NOT_COUNTED",
    "ORIGINAL",
    "PERIODS",
    "RATE_QUANTUM",
    "RECENT_DAYS",
    "WHOLE",
    "ZERO",
    "Bounds",
    "Buckets",
    "DayFigures",
    "EarlyWarning",
    "Figure",
    "IndicatorSummary",
    "MissingReport",
    "ReasonTotal",
    "actuals_of",
    "best_30_day_rates",
    "bounds_for",
    "calendar_for",
    "calendars_for",
    "children_of",
    "children_summaries",
    "daily_plan_series",
    "daily_series",
    "day_figures",
    "default_day",
    "deviations_of",
    "early_warnings",
    "early_warnings_below",
    "entry_gate",
    "holidays_in",
    "import_units",
    "indicators_by_codes",
    "indicators_for",
    "is_locked",
    "late_deadline",
    "late_figures",
    "locked_months",
    "missing_reports",
    "month_locked",
    "plan_months",
    "plan_versions",
    "plausibility_check",
    "production_day",
    "ranges_visible",
    "reportable_indicators",
    "reported_at",
    "reporting_level_errors",
    "reporting_units",
    "site_types_of",
    "stored_values",
    "summaries",
    "top_reasons",
    "unit_summary",
    "units_to_report",
]
