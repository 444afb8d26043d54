"""Production endpoints: parse → service/selector → serialise (schemas and output builders in schemas.py)."""

from __future__ import annotations

import datetime as dt

from ninja import Query, Router, Status

from headframe.core.dates import Day
from headframe.core.db_router import replica_reads
from headframe.core.errors import ValidationFailed
from headframe.org.models import UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get, units_visible
from headframe.production import holidays, selectors, services
from headframe.production.schemas import (
    ActualOut,
    ActualsBatchIn,
    ActualsQuery,
    DeviationIn,
    DeviationOut,
    EarlyWarningOut,
    HolidayIn,
    HolidayOut,
    HolidayQuery,
    IndicatorOut,
    LockIn,
    LockOut,
    MissingReportOut,
    PlanIn,
    PlanOut,
    PlausibleRangeIn,
    PlausibleRangeOut,
    SummaryOut,
    SummaryQuery,
    UpsertOut,
    actual_out,
    deviation_out,
    early_warning_out,
    holiday_out,
    indicator_out,
    missing_report_out,
    plan_out,
    range_out,
    summary_out,
    upsert_out,
)
from headframe.production.services import ActualRow

router = Router(tags=["production"])


@router.get("/indicators", response=list[IndicatorOut], summary="The indicator catalogue")
def indicators(request):
    return [indicator_out(i) for i in selectors.indicators_for()]


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
    result = services.actuals_upsert(actor=request.user, rows=rows, source="api")
    return upsert_out(result)


@router.get("/actuals", response=list[ActualOut], summary="Stored figures of a unit's subtree (max 10 000)")
def actuals_list(request, q: Query[ActualsQuery]):
    unit = unit_get(request.user, q.unit, loc=("query", "unit"))
    return [actual_out(a) for a in selectors.actuals_of(unit, q.since, q.until, q.indicator)]


@router.get("/summary", response=SummaryOut, summary="Plan vs actual for a unit's subtree on a day")
def summary(request, q: Query[SummaryQuery]):
    return _summary(request.user, q)


@replica_reads  # the dashboards' figures: from the read replica when there is one
def _summary(user, q: SummaryQuery):
    unit = unit_get(user, q.unit, loc=("query", "unit"))
    on = q.date or selectors.default_day()
    indicators = selectors.indicators_by_codes(q.indicators.split(",")) if q.indicators else None
    if q.since is not None and q.since > on:
        raise ValidationFailed(
            loc=("query", "from"), type="period_order", params={}, key="period_order.summary"
        )
    rows = selectors.unit_summary(unit, on, indicators, period_start=q.since)
    return summary_out(unit, on, rows, selectors.top_reasons(unit, on), period_start=q.since)


@router.post("/plans", response={201: PlanOut}, summary="Approve a plan version")
def plan_create(request, payload: PlanIn):
    version = services.plan_version_create(
        actor=request.user,
        unit_code=payload.unit,
        year=payload.year,
        effective_from=payload.effective_from,
        values=payload.values,
        kind=payload.kind,
        note=payload.note,
    )
    return Status(201, plan_out(version, selectors.plan_months(version)))


@router.get("/plans", response=list[PlanOut], summary="Plan versions of a unit for a year")
def plan_list(request, unit: str, year: int):
    unit_ = unit_get(request.user, unit, loc=("query", "unit"))
    return [plan_out(v, selectors.plan_months(v)) for v in selectors.plan_versions(unit_, year)]


@router.post("/locks", response={201: LockOut}, summary="Close a month for a unit's subtree (planner)")
def lock_create(request, payload: LockIn):
    lock = services.period_lock(actor=request.user, unit_code=payload.unit, month=payload.month)
    return Status(201, {"unit": payload.unit, "month": lock.month.isoformat()})


@router.post("/deviations", response={201: DeviationOut}, summary="Record why a unit missed its plan")
def deviation_create(request, payload: DeviationIn):
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
    return Status(201, deviation_out(deviation))


@router.get("/deviations", response=list[DeviationOut], summary="Deviations of a unit's subtree in a month")
def deviation_list(request, unit: str, month: Day):
    return [
        deviation_out(d)
        for d in selectors.deviations_of(unit_get(request.user, unit, loc=("query", "unit")), month)
    ]


@router.get(
    "/early-warnings",
    response=list[EarlyWarningOut],
    summary="Units that will miss the year: required daily rate above their best 30-day rate",
)
def early_warning_list(request, unit: str, date: Day | None = None):
    return _early_warnings(request.user, unit, date)


@replica_reads
def _early_warnings(user, unit: str, date: dt.date | None):
    root = unit_get(user, unit, loc=("query", "unit"))
    on = date or selectors.default_day()
    visible = units_visible(user, Perm.VIEW)
    return [early_warning_out(w) for w in selectors.early_warnings_below(root, on, visible)]


@router.get(
    "/missing-reports",
    response=list[MissingReportOut],
    summary="Sites whose figures of a day are not all in on time: not due yet, missing, partial or late",
)
def missing_report_list(request, unit: str, date: Day | None = None):
    return _missing_reports(request.user, unit, date)


@replica_reads
def _missing_reports(user, unit: str, date: dt.date | None):
    root = unit_get(user, unit, loc=("query", "unit"))
    on = date or selectors.default_day()
    return [
        missing_report_out(m) for m in selectors.missing_reports(root, on, reporting_kinds=(UnitKind.SITE,))
    ]


# --- holidays ------------------------------------------------------------------------------------------


@router.get("/holidays", response=list[HolidayOut], summary="A year's holidays as they hold at a unit")
def holiday_list(request, q: Query[HolidayQuery]):
    unit = unit_get(request.user, q.unit, loc=("query", "unit")) if q.unit else None
    return [holiday_out(h) for h in holidays.holidays_at(q.year, unit)]


@router.post(
    "/holidays", response={201: HolidayOut}, summary="Declare a holiday (planner of the unit or group)"
)
def holiday_create(request, payload: HolidayIn):
    holiday = holidays.holiday_add(
        actor=request.user, day=payload.day, name=payload.name, unit_code=payload.unit
    )
    return Status(201, holiday_out(holiday))


@router.delete("/holidays/{holiday_id}", response={204: None}, summary="Remove a holiday (planner)")
def holiday_delete(request, holiday_id: int):
    holiday = holidays.holiday_get(request.user, holiday_id)
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
    return [range_out(r) for r in selectors.ranges_visible(request.user, root)]


@router.put(
    "/plausible-ranges",
    response=PlausibleRangeOut,
    summary="Set an indicator's plausible range at a unit (planner there) or everywhere (planner of the group)",
)
def plausible_range_put(request, payload: PlausibleRangeIn):
    bounds = {name: getattr(payload, name) for name in services.RANGE_FIELDS}
    saved = services.plausible_range_set(
        actor=request.user, indicator_code=payload.indicator, unit_code=payload.unit, **bounds
    )
    return range_out(saved)
