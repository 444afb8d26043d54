"""Input and output schemas of the workforce API (/api/v1/workforce/): workers and their import, the lamp room
(check-in, check-out), who is underground now and the muster list."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

MAX_PAGE = 500

# --- input --------------------------------------------------------------------------------------------------


class WorkerQuery(Schema):
    unit: str | None = Field(None, description="only workers of this unit and the units under it")
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class UndergroundQuery(Schema):
    site: str | None = Field(None, description="one mine (its code); all the mines you may see without it")


class CheckInIn(Schema):
    tag: str = Field(..., min_length=1, max_length=40, description="the cap-lamp / tag number")
    site: str = Field(..., min_length=1, max_length=40, description="the mine (its code)")
    override_reason: str = Field(
        "",
        max_length=1000,
        description="an overman lets a refused person underground: why (needs the check-in override role)",
    )


class CheckOutIn(Schema):
    tag: str = Field(..., min_length=1, max_length=40, description="the cap-lamp / tag number")
    site: str = Field(..., min_length=1, max_length=40, description="the mine (its code)")


# --- output -------------------------------------------------------------------------------------------------


class WorkerOut(Schema):
    employee_no: str
    full_name: str
    unit: str
    team: str
    trade: str
    skill_grade: int
    hire_date: dt.date | None
    health_class: int | None = Field(
        description="only for a caller who manages the workers of the worker's unit; null otherwise"
    )
    tag_no: str | None
    is_active: bool


class WorkerPageOut(Schema):
    items: list[WorkerOut]
    next_cursor: int | None


class WorkersImportOut(Schema):
    created: int
    updated: int


class RefusalOut(Schema):
    type: str = Field(description="not_rostered | training_lapsed | health_class")
    msg: str


class PresenceOut(Schema):
    id: int
    employee_no: str
    full_name: str
    trade: str
    site: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    checked_in_by: str | None
    checked_out_by: str | None
    override_by: str | None = Field(description="the overman who let a refused person underground")
    override_reason: str
    refusals: list[RefusalOut] = Field(description="the reasons overridden at check-in")


class UndergroundPersonOut(Schema):
    employee_no: str
    full_name: str
    trade: str
    site: str
    area: str | None
    position: str | None = Field(description="the work position of today's roster")
    checked_in_at: dt.datetime
    shift_end: dt.datetime | None
    overdue: bool = Field(description="still underground past the shift end and the grace period")


class UndergroundOut(Schema):
    generated_at: dt.datetime
    total: int
    counts: dict[str, int] = Field(description="mine code → people underground now")
    people: list[UndergroundPersonOut] = Field(
        description="overdue people first, then by mine, area, position"
    )


class MusterGroupOut(Schema):
    area: str | None
    area_name: str
    position: str | None
    position_name: str
    count: int
    people: list[UndergroundPersonOut]


class MusterOut(Schema):
    site: str
    site_name: str
    generated_at: dt.datetime
    total: int
    groups: list[MusterGroupOut]
