"""Input and output schemas of the workforce API: workers' voice (grievances, kiến nghị)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from headframe.core.dates import Day

Category = Literal["wages", "safety", "conditions", "welfare", "other"]
Status = Literal["open", "answered", "closed"]


class GrievanceQuery(Schema):
    unit: str | None = Field(None, max_length=40, description="only this unit and the units under it")
    status: Status | None = None
    overdue: bool | None = Field(None, description="true: open past the due day; false: the others")
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=500)


class GrievanceCountsQuery(Schema):
    unit: str | None = Field(None, max_length=40)
    start: Day | None = Field(None, description="received from (1 January of this year without it)")
    on: Day | None = Field(None, description="to this day (today without it)")


class GrievanceIn(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="where it was raised (its code)")
    text: str = Field(..., min_length=1, max_length=4000)
    category: Category = "other"
    received_on: Day | None = Field(None, description="today without it; never in the future")
    employee_no: str | None = Field(None, max_length=20, description="who raised it (ignored when anonymous)")
    anonymous: bool = Field(False, description="no worker is stored, even when employee_no is given")


class GrievanceAnswerIn(Schema):
    answer: str = Field(..., min_length=1, max_length=4000)
    answered_on: Day | None = Field(None, description="today without it")


class GrievanceOut(Schema):
    id: int
    unit: str
    category: str
    text: str
    received_on: dt.date
    due_on: dt.date
    status: str
    overdue: bool
    answer: str
    answered_on: dt.date | None
    escalation_level: int
    anonymous: bool
    employee_no: str | None = Field(description="only for a caller who manages the unit's workforce")
    full_name: str | None = Field(description="only for a caller who manages the unit's workforce")


class GrievancePageOut(Schema):
    items: list[GrievanceOut]
    next_cursor: int | None


class GrievanceCountsOut(Schema):
    open: int
    overdue: int
    answered: int
    closed: int
    on_time: float | None = Field(description="percent of the decided grievances answered by their due day")
    by_category: dict[str, int]
