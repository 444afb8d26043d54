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


class ActualsBatchIn(Schema):
    rows: list[ActualIn] = Field(min_length=1, max_length=20000)


class UpsertOut(Schema):
    created: int
    updated: int
    unchanged: int
    late: int


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


class FigureOut(Schema):
    actual: float | None
    plan: float | None
    pct: float | None


class LastYearOut(Schema):
    day: float | None
    mtd: float | None
    ytd: float | None


class IndicatorSummaryOut(Schema):
    code: str
    name: str
    unit_of_measure: str
    day: FigureOut
    mtd: FigureOut
    ytd: FigureOut
    month_plan: float | None
    year_plan: float | None
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
    late: bool
