"""Input and output schemas of the production API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from headframe.core.dates import Day


def _figure(value):
    """A JSON number or a string, as sent: the service reads it (a bool is not a figure, whatever JSON says)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise PydanticCustomError(
            "not_a_number", 'a figure is a JSON number or a decimal string such as "1234.5"'
        )
    return value


Figure = Annotated[
    int | float | str,
    PlainValidator(_figure),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$", "maxLength": 40},
            ],
            "description": "a JSON number, or ASCII digits with an optional '.' decimal part (\"1234.5\"); "
            "stored to 4 decimals, below 10^15",
        }
    ),
]


class ActualIn(Schema):
    unit: str = Field(min_length=1, max_length=40)
    indicator: str = Field(min_length=1, max_length=40)
    day: Day = Field(description="production day (a shift crossing midnight belongs to the day it started)")
    shift: int = Field(0, description="1, 2, 3 (4) on the unit's shift calendar; 0 for a whole-day figure")
    value: Figure = Field(
        description="in the indicator's unit of measure: a JSON number, or ASCII digits with an optional '.' "
        'decimal part ("1234.5"); stored to 4 decimals, below 10^15; a non-zero value that would be stored as 0 '
        "is refused"
    )
    confirm_implausible: bool = Field(
        False,
        description="store the value although it is implausible (outside the indicator's plausible range for "
        "the unit: above its per-shift/per-day bound or 3 × the unit's best of the last 90 days); without "
        "it such a row is refused (422, type 'implausible'). Confirmed values are marked in the audit log. "
        "Impossible values (type 'impossible', 'negative') are refused whatever this says",
    )


class ActualsBatchIn(Schema):
    rows: list[ActualIn] = Field(min_length=1, max_length=20000)


class UpsertOut(Schema):
    created: int
    updated: int
    unchanged: int
    late: int
    confirmed: int = Field(0, description="implausible figures stored because their row confirmed them")


class ActualOut(Schema):
    unit: str
    indicator: str
    day: dt.date
    shift: int
    value: float
    source: str
    is_late: bool
    entered_by: str | None
    entered_at: dt.datetime


class IndicatorOut(Schema):
    code: str
    name_vi: str
    name_en: str
    unit_of_measure: str
    aggregation: str
    weight: str | None
    numerator: str | None
    denominator: str | None
    site_types: list[str]
    higher_is_better: bool
    decimals: int
    is_key: bool


class DayFigureOut(Schema):
    actual: float | None
    plan: float | None = Field(description="the day's plan")
    pct_of_plan: float | None = Field(description="actual ÷ the day's plan, % (basis `day`)")


class MonthFigureOut(Schema):
    actual: float | None = Field(description="month to date")
    plan_to_date: float | None = Field(description="the month's plan for the days elapsed (tiến độ)")
    pct_of_plan_to_date: float | None = Field(
        description="actual ÷ plan to date, % (basis `month_to_date`: is the unit keeping pace?)"
    )
    plan: float | None = Field(description="the whole month's plan")
    pct_of_plan: float | None = Field(description="actual ÷ the whole month's plan, % (basis `month`)")


class YearFigureOut(Schema):
    actual: float | None = Field(description="year to date")
    plan_to_date: float | None = Field(description="the year plan in force for the days elapsed (tiến độ)")
    pct_of_plan_to_date: float | None = Field(description="actual ÷ plan to date, % (basis `year_to_date`)")
    plan: float | None = Field(description="the whole year's plan: the approved version in force on the date")
    pct_of_plan: float | None = Field(
        description="actual ÷ the whole year's plan in force, % (basis `year`: the figure the group publishes)"
    )
    plan_original: float | None = Field(description="the year's original plan (its first approved version)")
    pct_of_plan_original: float | None = Field(
        description="actual ÷ the original year plan, % (basis `year_original`)"
    )
    plan_adjusted: bool = Field(description="the plan in force is an adjusted version, not the original")


class PeriodFigureOut(Schema):
    start: dt.date
    end: dt.date = Field(description="the summary's date")
    actual: float | None
    plan: float | None = Field(description="the plan of the days from start to end")
    pct_of_plan: float | None = Field(description="actual ÷ the period's plan, % (basis `period`)")


class BasisLabelOut(Schema):
    vi: str
    en: str


class LastYearOut(Schema):
    day: float | None
    mtd: float | None
    ytd: float | None


class IndicatorSummaryOut(Schema):
    code: str
    name: str
    unit_of_measure: str
    day: DayFigureOut
    mtd: MonthFigureOut
    ytd: YearFigureOut
    period: PeriodFigureOut | None = Field(None, description="only when `from` is asked")
    last_year: LastYearOut
    mtd_change_pct: float | None
    ytd_change_pct: float | None
    forecast_month_end: float | None
    forecast_year_end: float | None
    required_daily_month: float | None
    required_daily_year: float | None
    status: str


class ReasonOut(Schema):
    category: str
    label: str
    occurrences: int
    lost_hours: float
    shortfall: float


class SummaryOut(Schema):
    unit: str
    date: dt.date
    bases: dict[str, BasisLabelOut] = Field(
        description="basis → its label in each language: `month` is % of the whole month plan, "
        "`month_to_date` % of the month plan to date, `year` % of the year plan in force, `year_to_date` "
        "% of the year plan to date, `year_original` % of the original year plan, `period` % of the period plan"
    )
    indicators: list[IndicatorSummaryOut]
    top_reasons: list[ReasonOut]


class PlanIn(Schema):
    unit: str
    year: int = Field(ge=2000, le=2100)
    effective_from: Day
    kind: str = Field("original", pattern="^(original|adjusted)$")
    values: dict[str, Figure | list[Figure]] = Field(
        description="indicator code → annual figure (split by working days) or 12 monthly figures"
    )
    note: str = Field("", max_length=300)


class PlanOut(Schema):
    id: int
    unit: str
    year: int
    kind: str
    effective_from: dt.date
    approved_by: str | None
    approved_at: dt.datetime
    note: str
    months: dict[str, list[float]]


class LockIn(Schema):
    unit: str
    month: Day = Field(description="any day of the month to close")


class DeviationIn(Schema):
    unit: str
    indicator: str
    day: Day
    shift: int = Field(0, ge=0, le=4)
    category: str
    lost_hours: Decimal = Field(ge=0, le=24)
    note: str = Field("", max_length=500)


class DeviationOut(Schema):
    id: int
    unit: str
    indicator: str
    day: dt.date
    shift: int
    category: str
    lost_hours: float
    shortfall: float
    note: str


class EarlyWarningOut(Schema):
    unit: str
    indicator: str
    required_daily: float
    best_30_day_rate: float
    year_plan: float
    ytd_actual: float


class MissingReportOut(Schema):
    unit: str
    name: str
    last_reported: dt.date | None
    late: bool = Field(description="some reporting units' figures came after the deadline")
    state: str = Field(
        description="not_due: the day's deadline has not passed yet; missing: no figures; partial: some "
        "reporting units reported; late: all reported, some after the deadline"
    )
    reported: int = Field(description="reporting units (positions, else areas, else the site) with figures")
    expected: int = Field(description="reporting units expected to report")
    deadline: dt.datetime = Field(description="end of the day's last shift plus the calendar's grace")


class PlausibleRangeIn(Schema):
    indicator: str = Field(min_length=1, max_length=40)
    unit: str | None = Field(
        None, max_length=40, description="unit code: the range holds in its subtree; empty: everywhere"
    )
    impossible_below: Decimal | None = Field(None, description="values below are refused")
    impossible_above: Decimal | None = Field(None, description="values above are refused")
    shift_above: Decimal | None = Field(None, ge=0, description="shift figures above need a confirmation")
    day_above: Decimal | None = Field(
        None, ge=0, description="day figures (shift 0) above need a confirmation"
    )
    best_multiple: Decimal | None = Field(
        None,
        gt=0,
        le=1000,
        description="figures above this multiple of the unit's best shift/day of the last 90 days need a "
        "confirmation",
    )


class PlausibleRangeOut(Schema):
    indicator: str
    unit: str | None
    impossible_below: float | None
    impossible_above: float | None
    shift_above: float | None
    day_above: float | None
    best_multiple: float | None


class HolidayIn(Schema):
    day: Day
    name: str = Field(min_length=1, max_length=100)
    unit: str | None = Field(
        None,
        max_length=40,
        description="the unit whose subtree stops that day; empty (or the group's code): the whole group",
    )


class HolidayOut(Schema):
    id: int
    day: dt.date
    name: str
    unit: str | None = Field(description="null: the whole group")
    scope: str = Field(description="group or unit")
