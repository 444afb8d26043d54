"""Workforce API schemas: medical examinations and occupational disease screening (individual rows: the medical role
only), the counts by unit anyone who may view it reads, and a worker's own data export."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from headframe.core.dates import Day

# --- input --------------------------------------------------------------------------------------------------


class ExamIn(Schema):
    employee_no: str = Field(..., min_length=1, max_length=40)
    examined_on: Day
    kind: str = Field("periodic", description="periodic | pre_employment | return_to_work | occupational")
    health_class: int = Field(..., description="1–6 (I–VI); IV–VI may not work underground")
    pneumoconiosis: str = Field("", description="'' (not screened) | negative | suspected | confirmed")
    findings: str = Field("", max_length=4000)
    next_due: Day | None = Field(None, description="the next periodic examination")


class ExamsQuery(Schema):
    employee_no: str = Field(..., min_length=1, max_length=40)


class HealthCountsQuery(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="a unit: its workers and those under it")


# --- output -------------------------------------------------------------------------------------------------


class ExamOut(Schema):
    id: int
    employee_no: str
    examined_on: dt.date
    kind: str
    health_class: int
    pneumoconiosis: str
    findings: str
    next_due: dt.date | None
    recorded_by: str | None
    recorded_at: dt.datetime


class ExamsImportOut(Schema):
    created: int
    classes_changed: int = Field(description="workers whose health class the import changed")


class ExamsOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    health_class: int
    exams: list[ExamOut] = Field(description="newest first; this read is written to the audit log")


class HealthCountsOut(Schema):
    unit: str
    workers: int
    by_class: dict[str, int] = Field(description="health class (1–6) → active workers")
    not_underground: int = Field(description="workers of health class IV–VI")
    examined: int
    overdue: int = Field(description="workers whose next examination is past due")
    pneumoconiosis_suspected: int
    pneumoconiosis_confirmed: int


class ExportWorkerOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    team: str
    trade: str
    skill_grade: int
    hire_date: dt.date | None
    health_class: int
    tag_no: str | None
    is_active: bool


class ExportCertificateOut(Schema):
    course: str
    course_name: str
    passed_on: dt.date
    expires_on: dt.date | None


class ExportRosterOut(Schema):
    day: dt.date
    shift: int
    position: str


class ExportPresenceOut(Schema):
    site: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None


class ExportGrievanceOut(Schema):
    unit: str
    category: str
    text: str
    received_on: dt.date
    status: str
    answer: str


class WorkerExportOut(Schema):
    generated_at: dt.datetime
    worker: ExportWorkerOut
    certificates: list[ExportCertificateOut]
    rosters: list[ExportRosterOut]
    presences: list[ExportPresenceOut]
    grievances: list[ExportGrievanceOut] = Field(description="the worker's own, not the anonymous ones")
    medical_exams: list[ExamOut] | None = Field(
        description="only for a caller with the medical role on the worker's unit (the read is audited)"
    )
