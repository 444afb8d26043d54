"""Input and output schemas of the workforce API: the training matrix and the certificates' import."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from headframe.core.dates import Day

MAX_ROWS = 5000


class TrainingMatrixQuery(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="the unit (its code): its whole subtree")
    on: Day | None = Field(None, description="the day the certificates are judged on (today without it)")
    offset: int = Field(0, ge=0, le=1_000_000, description="rows to skip")
    limit: int = Field(
        500, ge=1, le=MAX_ROWS, description="rows at most (totals and coverage count every row)"
    )


class CourseOut(Schema):
    code: str
    name: str
    validity_months: int | None
    required_underground: bool
    required_trades: list[str] = Field(description="the trades that must hold it (anywhere)")


class CellOut(Schema):
    course: str
    state: str = Field(description="valid | expiring_30 | expiring_60 | expiring_90 | expired | missing")
    until: dt.date | None = Field(description="valid until (null: for good, or not held) / expired on")
    needed: bool = Field(description="the worker must hold it (underground, or the trade's licence)")


class MatrixRowOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    trade: str
    underground: bool = Field(description="the worker's unit lies in an underground mine")
    covered: bool = Field(description="holds every course needed, valid on the day")
    cells: list[CellOut]


class CourseTotalsOut(Schema):
    course: str
    valid: int = Field(description="valid beyond 90 days, or for good")
    expiring: int = Field(description="valid, expiring within 90 days")
    expired: int
    missing: int = Field(description="needed and never held")


class TrainingMatrixOut(Schema):
    unit: str
    on: dt.date
    coverage: float | None = Field(description="percent of the workers holding every course they need")
    total_rows: int
    courses: list[CourseOut]
    totals: list[CourseTotalsOut]
    rows: list[MatrixRowOut]


class CertificatesImportOut(Schema):
    created: int
    updated: int


class CertificateIn(Schema):
    employee_no: str = Field(..., min_length=1, max_length=20)
    course: str = Field(..., min_length=1, max_length=40, description="the course's code")
    passed_on: Day
    expires_on: Day | None = Field(None, description="empty: passed_on + the course's validity (or for good)")


class CertificateOut(Schema):
    employee_no: str
    course: str
    passed_on: dt.date
    expires_on: dt.date | None
