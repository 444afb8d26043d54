"""Workforce API schemas: rosters (who works which work position on which shift of a day)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class RosterQuery(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="a mine, an area or one work position")
    day: dt.date = Field(..., description="the production day (YYYY-MM-DD)")


class RosterSetIn(Schema):
    position: str = Field(..., min_length=1, max_length=40, description="the work position (its code)")
    day: dt.date
    shift: int = Field(..., ge=1, le=9)
    employee_nos: list[str] = Field(
        ..., max_length=200, description="the whole crew of that shift (an empty list clears it)"
    )


class RosterCopyIn(Schema):
    unit: str = Field(..., min_length=1, max_length=40, description="a mine, an area or one work position")
    from_monday: dt.date
    to_monday: dt.date


class RosterPersonOut(Schema):
    employee_no: str
    full_name: str


class RosterPositionOut(Schema):
    position: str
    name: str
    shifts: list[list[RosterPersonOut]] = Field(..., description="one crew per shift, shift 1 first")


class RosterOut(Schema):
    unit: str
    day: dt.date
    shifts: int
    people: int
    positions: list[RosterPositionOut]


class RosterSetOut(Schema):
    position: str
    day: dt.date
    shift: int
    crew: int


class RosterCountOut(Schema):
    rows: int
