"""What a summary returns: a figure (actual, plan, % of plan) per period and indicator, and the date helpers
of its periods."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from headframe.production.calendar import month_days
from headframe.production.models import Indicator

ZERO = Decimal(0)
RATE_QUANTUM = Decimal("0.01")
GREEN_FROM, AMBER_FROM = Decimal(100), Decimal(95)


def _pct(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (numerator * 100 / denominator).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Figure:
    actual: Decimal | None = None
    plan: Decimal | None = None

    @property
    def pct(self) -> Decimal | None:
        return _pct(self.actual, self.plan)


@dataclass
class IndicatorSummary:
    indicator: Indicator
    day: Figure = field(default_factory=Figure)
    mtd: Figure = field(default_factory=Figure)
    ytd: Figure = field(default_factory=Figure)
    month_plan: Decimal | None = None
    year_plan: Decimal | None = None  # the approved version in force on the date (adjusted plan)
    year_plan_original: Decimal | None = None  # the original version's, kept for reference
    plan_adjusted: bool = False  # a version in force is not the original
    period: Figure | None = None  # actual and plan of a meeting's period [period_start, on], when asked
    last_year_day: Decimal | None = None
    last_year_mtd: Decimal | None = None
    last_year_ytd: Decimal | None = None
    forecast_month_end: Decimal | None = None
    forecast_year_end: Decimal | None = None
    required_daily_month: Decimal | None = None
    required_daily_year: Decimal | None = None

    @property
    def month_pct(self) -> Decimal | None:
        """% of the month plan: the month to date against the whole month's plan."""
        return _pct(self.mtd.actual, self.month_plan)

    @property
    def year_pct(self) -> Decimal | None:
        """% of the year plan (in force): the year to date against the whole year's plan."""
        return _pct(self.ytd.actual, self.year_plan)

    @property
    def year_pct_original(self) -> Decimal | None:
        return _pct(self.ytd.actual, self.year_plan_original)

    @property
    def mtd_change_pct(self) -> Decimal | None:
        return _change(self.mtd.actual, self.last_year_mtd)

    @property
    def ytd_change_pct(self) -> Decimal | None:
        return _change(self.ytd.actual, self.last_year_ytd)

    @property
    def status(self) -> str:
        """Traffic light on month-to-date against the pro-rata plan: green, amber, red ('' without a plan)."""
        pct = self.mtd.pct
        if pct is None:
            return ""
        if not self.indicator.higher_is_better:
            pct = Decimal(200) - pct
        if pct >= GREEN_FROM:
            return "green"
        return "amber" if pct >= AMBER_FROM else "red"


def _change(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or not previous:
        return None
    return ((current - previous) * 100 / previous).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def next_month(day: dt.date) -> dt.date:
    return month_last_day(day) + dt.timedelta(days=1)


def prev_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def month_last_day(day: dt.date) -> dt.date:
    return month_days(day.year, day.month)[-1]
