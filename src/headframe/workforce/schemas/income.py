"""Input and output schemas of the workforce API: average income per worker (payroll aggregates, plans)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from headframe.core.dates import Day


class IncomeQuery(Schema):
    unit: str = Field(..., min_length=1, max_length=40)
    month: Day = Field(..., description="any day of the month (its first day, by convention)")


class IncomeLineOut(Schema):
    unit: str
    unit_name: str
    headcount: int = Field(description="people paid this month")
    total_income: int = Field(description="VND paid this month")
    average: int | None = Field(description="VND per worker this month: total / headcount")
    plan: int | None = Field(description="planned VND per worker per month for the year")
    vs_plan: float | None = Field(description="this month's average in percent of the plan")
    last_year_average: int | None = Field(description="the same month last year")
    vs_last_year: float | None
    year_to_date_average: int | None = Field(description="January to this month, weighted by people paid")


class IncomeSummaryOut(Schema):
    month: dt.date
    line: IncomeLineOut
    children: list[IncomeLineOut]


class PayrollImportOut(Schema):
    created: int
    updated: int


class IncomePlanIn(Schema):
    unit: str = Field(..., min_length=1, max_length=40)
    year: int = Field(..., ge=2000, le=2100)
    average_income: int = Field(..., gt=0, lt=10**16, description="VND per worker per month")


class IncomePlanOut(Schema):
    unit: str
    year: int
    average_income: int
