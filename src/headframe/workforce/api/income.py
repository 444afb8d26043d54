"""Workforce API: average income per worker (payroll aggregates against the plan and last year), the payroll's
import and the income plan."""

from __future__ import annotations

from ninja import File, Query, Router, UploadedFile

from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.workforce.schemas.income import (
    IncomePlanIn,
    IncomePlanOut,
    IncomeQuery,
    IncomeSummaryOut,
    PayrollImportOut,
)
from headframe.workforce.selectors.income import IncomeLine, income_summary
from headframe.workforce.services.income import income_plan_set, payroll_import

router = Router(tags=["workforce"])


def _int(value) -> int | None:
    return int(value) if value is not None else None


def _float(value) -> float | None:
    return float(value) if value is not None else None


def line_out(line: IncomeLine) -> dict:
    return {
        "unit": line.unit.code,
        "unit_name": line.unit.name_vi,
        "headcount": line.month.headcount,
        "total_income": int(line.month.total),
        "average": _int(line.average),
        "plan": _int(line.plan),
        "vs_plan": _float(line.vs_plan),
        "last_year_average": _int(line.last_year.average),
        "vs_last_year": _float(line.vs_last_year),
        "year_to_date_average": _int(line.year_to_date.average),
    }


@router.get(
    "/income",
    response=IncomeSummaryOut,
    summary="Average income per worker of a unit in a month, against the plan, last year and the year to date",
)
def income(request, filters: Query[IncomeQuery]):
    summary = income_summary(request.user, filters.unit, filters.month)
    return {
        "month": summary.month,
        "line": line_out(summary.line),
        "children": [line_out(c) for c in summary.children],
    }


@router.post(
    "/income/payroll/import",
    response=PayrollImportOut,
    summary="Record payroll totals per unit and month from a workbook (aggregates only; all rows or none)",
)
def import_payroll(request, file: File[UploadedFile]):
    content = file.read(MAX_UPLOAD_BYTES + 1)
    result = payroll_import(actor=request.user, content=content, filename=file.name or "")
    return {"created": result.created, "updated": result.updated}


@router.post(
    "/income/plans", response=IncomePlanOut, summary="Set a unit's planned average income for a year"
)
def set_plan(request, payload: IncomePlanIn):
    plan = income_plan_set(
        actor=request.user, unit_code=payload.unit, year=payload.year, average_income=payload.average_income
    )
    return {"unit": plan.unit.code, "year": plan.year, "average_income": int(plan.average_income)}
