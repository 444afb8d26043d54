"""Production endpoints: parse → service/selector → serialise."""

from __future__ import annotations

from ninja import Field, Query, Router, Schema, Status

from headframe.core.audit import channel
from headframe.core.dates import Day
from headframe.core.errors import ValidationFailed
from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get, units_visible
from headframe.production import holidays, plausibility, reporting, selectors, services
from headframe.production.figures import basis_labels
from headframe.production.schemas import (
    ActualOut,
    ActualsBatchIn,
    DeviationIn,
    DeviationOut,
    EarlyWarningOut,
    HolidayIn,
    HolidayOut,
    IndicatorOut,
    LockIn,
    MissingReportOut,
    PlanIn,
    PlanOut,
    PlausibleRangeIn,
    PlausibleRangeOut,
    SummaryOut,
    UpsertOut,
)
from headframe.production.services import ActualRow

router = Router(tags=["production"])


def _num(value):
    return float(value) if value is not None else None


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


class SummaryQuery(Schema):
    unit: str = Field(description="unit code: the summary covers its whole subtree")
    date: Day | None = Field(None, description="production day; default yesterday")
    indicators: str | None = Field(None, description="comma-separated indicator codes; default all")
    since: Day | None = Field(
        None,
        alias="from",
        description="first day of a period (e.g. a quarter) ending on `date`: adds `period` per indicator",
    )


@router.get("/indicators", response=list[IndicatorOut], summary="The indicator catalogue")
def indicators(request):
    return [
        {
            **{
                f: getattr(i, f)
                for f in (
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
            },
            "weight": i.weight.code if i.weight else None,
            "numerator": i.numerator.code if i.numerator else None,
            "denominator": i.denominator.code if i.denominator else None,
        }
        for i in selectors.indicators_for()
    ]


@router.put("/actuals", response=UpsertOut, summary="Store a batch of figures (idempotent, all or nothing)")
def actuals_put(request, payload: ActualsBatchIn):
    rows = [
        ActualRow(
            r.unit,
            r.indicator,
            r.day,
            r.shift,
            r.value,
            ("body", "rows", n),
            confirm_implausible=r.confirm_implausible,
        )
        for n, r in enumerate(payload.rows)
    ]
    with channel("api"):
        result = services.actuals_upsert(actor=request.user, rows=rows, source="api")
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "late": result.late,
        "confirmed": result.confirmed,
    }


class ActualsQuery(Schema):
    unit: str
    since: Day = Field(alias="from")
    until: Day = Field(alias="to")
    indicator: str | None = None


@router.get("/actuals", response=list[ActualOut], summary="Stored figures of a unit's subtree (max 10 000)")
def actuals_list(request, q: Query[ActualsQuery]):
    unit = unit_get(request.user, q.unit, loc=("query", "unit"))
    return [
        {
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
        for a in selectors.actuals_of(unit, q.since, q.until, q.indicator)
    ]


@router.get("/summary", response=SummaryOut, summary="Plan vs actual for a unit's subtree on a day")
def summary(request, q: Query[SummaryQuery]):
    unit = unit_get(request.user, q.unit, loc=("query", "unit"))
    on = q.date or selectors.default_day()
    indicators = selectors.indicators_by_codes(q.indicators.split(",")) if q.indicators else None
    if q.since is not None and q.since > on:
        raise ValidationFailed(
            "the period must start on or before the summary's date",
            loc=("query", "from"),
            type="period_order",
        )
    rows = selectors.unit_summary(unit, on, indicators, period_start=q.since)
    return summary_out(unit, on, rows, selectors.top_reasons(unit, on), period_start=q.since)


@router.post("/plans", response={201: PlanOut}, summary="Approve a plan version")
def plan_create(request, payload: PlanIn):
    with channel("api"):
        version = services.plan_version_create(
            actor=request.user,
            unit_code=payload.unit,
            year=payload.year,
            effective_from=payload.effective_from,
            values=payload.values,
            kind=payload.kind,
            note=payload.note,
        )
    return Status(201, selectors.plan_out(version))


@router.get("/plans", response=list[PlanOut], summary="Plan versions of a unit for a year")
def plan_list(request, unit: str, year: int):
    return [
        selectors.plan_out(v)
        for v in selectors.plan_versions(unit_get(request.user, unit, loc=("query", "unit")), year)
    ]


@router.post("/locks", response={201: dict}, summary="Close a month for a unit's subtree (planner)")
def lock_create(request, payload: LockIn):
    with channel("api"):
        lock = services.period_lock(actor=request.user, unit_code=payload.unit, month=payload.month)
    return Status(201, {"unit": payload.unit, "month": lock.month.isoformat()})


@router.post("/deviations", response={201: DeviationOut}, summary="Record why a unit missed its plan")
def deviation_create(request, payload: DeviationIn):
    with channel("api"):
        deviation = services.deviation_record(
            actor=request.user,
            unit_code=payload.unit,
            indicator_code=payload.indicator,
            day=payload.day,
            shift=payload.shift,
            category=payload.category,
            lost_hours=payload.lost_hours,
            note=payload.note,
        )
    return Status(201, selectors.deviation_out(deviation))


@router.get("/deviations", response=list[DeviationOut], summary="Deviations of a unit's subtree in a month")
def deviation_list(request, unit: str, month: Day):
    return [
        selectors.deviation_out(d)
        for d in selectors.deviations_of(unit_get(request.user, unit, loc=("query", "unit")), month)
    ]


@router.get(
    "/early-warnings",
    response=list[EarlyWarningOut],
    summary="Units that will miss the year: required daily rate above their best 30-day rate",
)
def early_warning_list(request, unit: str, date: Day | None = None):
    root = unit_get(request.user, unit, loc=("query", "unit"))
    on = date or selectors.default_day()
    return [
        {
            "unit": w.unit.code,
            "indicator": w.indicator.code,
            "required_daily": float(w.required_daily),
            "best_30_day_rate": float(w.best_30_day_rate),
            "year_plan": float(w.year_plan),
            "ytd_actual": float(w.ytd_actual),
        }
        for w in selectors.early_warnings_below(root, on, units_visible(request.user, Perm.VIEW))
    ]


@router.get(
    "/missing-reports",
    response=list[MissingReportOut],
    summary="Sites whose figures of a day are not all in on time: not due yet, missing, partial or late",
)
def missing_report_list(request, unit: str, date: Day | None = None):
    root = unit_get(request.user, unit, loc=("query", "unit"))
    on = date or selectors.default_day()
    return [
        {
            "unit": m.unit.code,
            "name": m.unit.name,
            "last_reported": m.last_reported,
            "late": m.late,
            "state": m.state,
            "reported": m.reported,
            "expected": m.expected,
            "deadline": m.deadline,
        }
        for m in reporting.missing_reports(root, on, reporting_kinds=(UnitKind.SITE,))
    ]


# --- holidays ------------------------------------------------------------------------------------------


class HolidayQuery(Schema):
    year: int = Field(ge=2000, le=2100)
    unit: str | None = Field(
        None,
        description="unit code: also the holidays of that unit and the units above it; default the group's",
    )


@router.get("/holidays", response=list[HolidayOut], summary="A year's holidays as they hold at a unit")
def holiday_list(request, q: Query[HolidayQuery]):
    unit = unit_get(request.user, q.unit, loc=("query", "unit")) if q.unit else None
    return [holidays.holiday_out(h) for h in holidays.holidays_at(q.year, unit)]


@router.post(
    "/holidays", response={201: HolidayOut}, summary="Declare a holiday (planner of the unit or group)"
)
def holiday_create(request, payload: HolidayIn):
    with channel("api"):
        holiday = holidays.holiday_add(
            actor=request.user, day=payload.day, name=payload.name, unit_code=payload.unit
        )
    return Status(201, holidays.holiday_out(holiday))


@router.delete("/holidays/{holiday_id}", response={204: None}, summary="Remove a holiday (planner)")
def holiday_delete(request, holiday_id: int):
    holiday = holidays.holiday_get(request.user, holiday_id)
    with channel("api"):
        holidays.holiday_remove(actor=request.user, holiday=holiday)
    return Status(204, None)


# --- plausible ranges ----------------------------------------------------------------------------------


@router.get(
    "/plausible-ranges",
    response=list[PlausibleRangeOut],
    summary="Plausible ranges of the indicators: everywhere, and those of units in view",
)
def plausible_range_list(request, unit: str | None = None):
    root = unit_get(request.user, unit, loc=("query", "unit")) if unit else None
    return [plausibility.range_out(r) for r in plausibility.ranges_visible(request.user, root)]


@router.put(
    "/plausible-ranges",
    response=PlausibleRangeOut,
    summary="Set an indicator's plausible range at a unit (planner there) or everywhere (planner of the group)",
)
def plausible_range_put(request, payload: PlausibleRangeIn):
    bounds = {name: getattr(payload, name) for name in services.RANGE_FIELDS}
    with channel("api"):
        saved = services.plausible_range_set(
            actor=request.user, indicator_code=payload.indicator, unit_code=payload.unit, **bounds
        )
    return plausibility.range_out(saved)
