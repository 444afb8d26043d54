"""Writes to production data: actuals (one service for web form, API and Excel), plans, period locks,
deviations, plausible ranges and the day form's save. Each call validates everything first and writes nothing if
any row is bad. The pure rules they apply live in `production.values` and `production.calendar`."""

from __future__ import annotations

from headframe.production.calendar import is_late, split_by_working_days
from headframe.production.services.actuals import (
    ActualRow,
    UpsertResult,
    actuals_upsert,
    refresh_monthly_totals,
    refresh_totals,
)
from headframe.production.services.day_entry import day_entry_save
from headframe.production.services.locks import deviation_record, period_lock
from headframe.production.services.plans import plan_version_create
from headframe.production.services.plausible_ranges import RANGE_FIELDS, plausible_range_set
from headframe.production.values import (
    MAX_VALUE,
    QUANTUM,
    ZERO,
    FigureError,
    day_value,
    day_values,
    parse_figure,
)

__all__ = [
    "MAX_VALUE",
    "QUANTUM",
    "RANGE_FIELDS",
    "ZERO",
    "ActualRow",
    "FigureError",
    "UpsertResult",
    "actuals_upsert",
    "day_entry_save",
    "day_value",
    "day_values",
    "deviation_record",
    "is_late",
    "parse_figure",
    "period_lock",
    "plan_version_create",
    "plausible_range_set",
    "refresh_monthly_totals",
    "refresh_totals",
    "split_by_working_days",
]
