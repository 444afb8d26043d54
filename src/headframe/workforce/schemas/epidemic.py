"""Workforce API schemas: the epidemic register: tests, cases, isolation, contact tracing, daily counts."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from headframe.core.dates import Day

# --- input --------------------------------------------------------------------------------------------------


class TestIn(Schema):
    __test__ = False  # a schema, not a test class

    employee_no: str = Field(..., min_length=1, max_length=40)
    tested_on: Day
    result: str = Field(..., description="positive | negative")
    disease: str = Field("COVID-19", max_length=60)
    method: str = Field("rapid", description="rapid | pcr | other")


class CaseIn(Schema):
    employee_no: str = Field(..., min_length=1, max_length=40)
    disease: str = Field("COVID-19", max_length=60)
    confirmed_on: Day
    isolation_from: Day
    isolation_to: Day | None = Field(None, description="the last day of isolation; empty while unknown")
    note: str = Field("", max_length=2000)


class CasePatchIn(Schema):
    status: str | None = Field(None, description="isolating | hospital | recovered")
    isolation_to: Day | None = Field(None, description="send null to open the isolation again")
    note: str | None = Field(None, max_length=2000)


class CasesQuery(Schema):
    unit: str | None = Field(None, description="only cases of workers of this unit and the units under it")


class TraceQuery(Schema):
    days: int = Field(14, description="the window before the isolation began (1–60 days)")
    cage_minutes: int = Field(10, description="checked in or out at the same mine within ± minutes (0–120)")


class TraceExportQuery(TraceQuery):
    format: str = Field("xlsx", description="xlsx | csv")


class EpidemicCountsQuery(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="counts for each unit directly under it")
    start: Day | None = Field(None, description="default: 13 days before the end")
    end: Day | None = Field(None, description="default: today")


# --- output -------------------------------------------------------------------------------------------------


class TestOut(Schema):
    __test__ = False

    id: int
    employee_no: str
    full_name: str
    disease: str
    tested_on: dt.date
    method: str
    result: str


class CaseOut(Schema):
    id: int
    employee_no: str
    full_name: str
    unit: str
    disease: str
    confirmed_on: dt.date
    isolation_from: dt.date
    isolation_to: dt.date | None
    status: str
    note: str


class TraceReasonOut(Schema):
    kind: str = Field(description="roster (same shift × work position) | cage_in | cage_out (same cage)")
    day: dt.date
    shift: int | None
    place: str = Field(description="the work position (roster) or the mine (cage)")
    at: dt.datetime | None = Field(description="the contact's check-in or check-out (cage)")


class ContactOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    contacts: int
    first_contact: dt.date
    last_contact: dt.date
    reasons: list[TraceReasonOut]


class TraceOut(Schema):
    case: CaseOut
    start: dt.date
    end: dt.date
    days: int
    cage_minutes: int
    index_shifts: int
    index_presences: int
    total: int
    contacts: list[ContactOut] = Field(description="most contacts first")


class DayCountOut(Schema):
    day: dt.date
    new_cases: int
    isolating: int
    tests: int
    positive: int


class UnitCountsOut(Schema):
    unit: str
    name: str
    days: list[DayCountOut]


class EpidemicCountsOut(Schema):
    unit: str
    start: dt.date
    end: dt.date
    new_cases: int
    isolating_now: int
    units: list[UnitCountsOut]
    totals: list[DayCountOut]
