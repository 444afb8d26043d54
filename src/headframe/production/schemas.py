"""Input and output schemas of the production API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from headframe.core.dates import Day
from headframe.production.figures import basis_labels
from headframe.production.models import Deviation, Holiday, PlanVersion, PlausibleRange


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


class LockOut(Schema):
    unit: str
    month: str = Field(description="the first day of the closed month (ISO date)")


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


# --- query parameters ----------------------------------------------------------------------------------


class SummaryQuery(Schema):
    unit: str = Field(description="unit code: the summary covers its whole subtree")
    date: Day | None = Field(None, description="production day; default yesterday")
    indicators: str | None = Field(None, description="comma-separated indicator codes; default all")
    since: Day | None = Field(
        None,
        alias="from",
        description="first day of a period (e.g. a quarter) ending on `date`: adds `period` per indicator",
    )


class ActualsQuery(Schema):
    unit: str
    since: Day = Field(alias="from")
    until: Day = Field(alias="to")
    indicator: str | None = None


class HolidayQuery(Schema):
    year: int = Field(ge=2000, le=2100)
    unit: str | None = Field(
        None,
        description="unit code: also the holidays of that unit and the units above it; default the group's",
    )


# --- output builders: stored objects and selector rows → the JSON the schemas above describe -------------

INDICATOR_FIELDS = (
    "code",
    "name_vi",
    "name_en",
    "unit_of_measure",
    "aggregation",
    "site_types",
    "higher_is_better",
    "decimals",
    "is_key",
)


def _num(value):
    return float(value) if value is not None else None


def indicator_out(i) -> dict:
    return {
        **{f: getattr(i, f) for f in INDICATOR_FIELDS},
        "weight": i.weight.code if i.weight else None,
        "numerator": i.numerator.code if i.numerator else None,
        "denominator": i.denominator.code if i.denominator else None,
    }


def upsert_out(result) -> dict:
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "late": result.late,
        "confirmed": result.confirmed,
    }


def actual_out(a) -> dict:
    return {
        "unit": a.unit.code,
        "indicator": a.indicator.code,
        "day": a.day,
        "shift": a.shift,
        "value": float(a.value),
        "source": a.source,
        "is_late": a.is_late,
        "entered_by": a.entered_by.username if a.entered_by else None,
        "entered_at": a.entered_at,
    }


def _figures(s) -> dict:
    """Each percentage of plan named by its basis (production/figures.py), next to the plan it is taken on."""
    return {
        "day": {"actual": _num(s.day.actual), "plan": _num(s.day.plan), "pct_of_plan": _num(s.day.pct)},
        "mtd": {
            "actual": _num(s.mtd.actual),
            "plan_to_date": _num(s.mtd.plan),
            "pct_of_plan_to_date": _num(s.mtd.pct),
            "plan": _num(s.month_plan),
            "pct_of_plan": _num(s.month_pct),
        },
        "ytd": {
            "actual": _num(s.ytd.actual),
            "plan_to_date": _num(s.ytd.plan),
            "pct_of_plan_to_date": _num(s.ytd.pct),
            "plan": _num(s.year_plan),
            "pct_of_plan": _num(s.year_pct),
            "plan_original": _num(s.year_plan_original),
            "pct_of_plan_original": _num(s.year_pct_original),
            "plan_adjusted": bool(s.plan_adjusted),
        },
    }


def summary_out(unit, on, rows, reasons, period_start=None) -> dict:
    """The JSON shape of a summary."""
    return {
        "unit": unit.code,
        "date": on,
        "bases": basis_labels(),
        "indicators": [
            {
                "code": s.indicator.code,
                "name": s.indicator.name,
                "unit_of_measure": s.indicator.unit_of_measure,
                **_figures(s),
                "period": {
                    "start": period_start,
                    "end": on,
                    "actual": _num(s.period.actual),
                    "plan": _num(s.period.plan),
                    "pct_of_plan": _num(s.period.pct),
                }
                if period_start is not None and s.period is not None
                else None,
                "last_year": {
                    "day": _num(s.last_year_day),
                    "mtd": _num(s.last_year_mtd),
                    "ytd": _num(s.last_year_ytd),
                },
                "mtd_change_pct": _num(s.mtd_change_pct),
                "ytd_change_pct": _num(s.ytd_change_pct),
                "forecast_month_end": _num(s.forecast_month_end),
                "forecast_year_end": _num(s.forecast_year_end),
                "required_daily_month": _num(s.required_daily_month),
                "required_daily_year": _num(s.required_daily_year),
                "status": s.status,
            }
            for s in rows
        ],
        "top_reasons": [
            {
                "category": r.category,
                "label": r.label,
                "occurrences": r.occurrences,
                "lost_hours": float(r.lost_hours),
                "shortfall": float(r.shortfall),
            }
            for r in reasons
        ],
    }


def plan_out(version: PlanVersion, months: dict[str, list[float]]) -> dict:
    """A plan version with its monthly figures (selectors.plan_months)."""
    return {
        "id": version.pk,
        "unit": version.unit.code,
        "year": version.year,
        "kind": version.kind,
        "effective_from": version.effective_from,
        "approved_by": version.approved_by.username if version.approved_by else None,
        "approved_at": version.approved_at,
        "note": version.note,
        "months": months,
    }


def deviation_out(d: Deviation) -> dict:
    return {
        "id": d.pk,
        "unit": d.unit.code,
        "indicator": d.indicator.code,
        "day": d.day,
        "shift": d.shift,
        "category": d.category,
        "lost_hours": float(d.lost_hours),
        "shortfall": float(d.shortfall),
        "note": d.note,
    }


def early_warning_out(w) -> dict:
    return {
        "unit": w.unit.code,
        "indicator": w.indicator.code,
        "required_daily": float(w.required_daily),
        "best_30_day_rate": float(w.best_30_day_rate),
        "year_plan": float(w.year_plan),
        "ytd_actual": float(w.ytd_actual),
    }


def missing_report_out(m) -> dict:
    return {
        "unit": m.unit.code,
        "name": m.unit.name,
        "last_reported": m.last_reported,
        "late": m.late,
        "state": m.state,
        "reported": m.reported,
        "expected": m.expected,
        "deadline": m.deadline,
    }


def holiday_out(holiday: Holiday) -> dict:
    return {
        "id": holiday.pk,
        "day": holiday.day,
        "name": holiday.name,
        "unit": holiday.unit.code if holiday.unit_id else None,
        "scope": "unit" if holiday.unit_id else "group",
    }


def range_out(r: PlausibleRange) -> dict:
    return {
        "indicator": r.indicator.code,
        "unit": r.unit.code if r.unit_id else None,
        **{
            name: _num(getattr(r, name))
            for name in ("impossible_below", "impossible_above", "shift_above", "day_above", "best_multiple")
        },
    }
