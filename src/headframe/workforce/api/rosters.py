"""Workforce API: rosters of a unit for a day, a crew set, last week copied, a roster workbook imported."""

from __future__ import annotations

from ninja import File, Query, Router, UploadedFile

from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.workforce.api.people import fields_as_sent
from headframe.workforce.schemas.rosters import (
    RosterCopyIn,
    RosterCountOut,
    RosterOut,
    RosterQuery,
    RosterSetIn,
    RosterSetOut,
)
from headframe.workforce.selectors.rosters import roster_grid
from headframe.workforce.services import roster_copy_week, roster_set
from headframe.workforce.services.roster_import import rosters_import

router = Router(tags=["workforce"])

# The services name their arguments position_code and unit_code; the API's fields are `position` and `unit`.
_FIELDS = {"position_code": "position", "unit_code": "unit"}


@router.get("/rosters", response=RosterOut, summary="The crews of every work position under a unit on a day")
def rosters(request, filters: Query[RosterQuery]):
    grid = roster_grid(request.user, filters.unit, filters.day)
    return {
        "unit": grid.unit.code,
        "day": grid.day,
        "shifts": grid.shifts,
        "people": grid.people,
        "positions": [
            {
                "position": row.position.code,
                "name": row.position.name,
                "shifts": [
                    [{"employee_no": w.employee_no, "full_name": w.full_name} for w in crew]
                    for crew in row.crews
                ],
            }
            for row in grid.rows
        ],
    }


@router.put(
    "/rosters",
    response=RosterSetOut,
    summary="Set the whole crew of a work position for one shift (409 when someone is rostered elsewhere)",
)
def rosters_set(request, payload: RosterSetIn):
    with fields_as_sent(_FIELDS):
        crew = roster_set(
            actor=request.user,
            position_code=payload.position,
            day=payload.day,
            shift=payload.shift,
            employee_nos=payload.employee_nos,
        )
    return {"position": payload.position, "day": payload.day, "shift": payload.shift, "crew": crew}


@router.post(
    "/rosters/copy-week",
    response=RosterCountOut,
    summary="Copy a week's rosters under a unit to another week (people already rostered keep their place)",
)
def rosters_copy_week(request, payload: RosterCopyIn):
    rows = roster_copy_week(
        actor=request.user,
        unit_code=payload.unit,
        from_monday=payload.from_monday,
        to_monday=payload.to_monday,
    )
    return {"rows": rows}


@router.post(
    "/rosters/import",
    response=RosterCountOut,
    summary="Set crews from a workbook (day, shift, position, employee_no; all rows or none)",
)
def rosters_upload(request, file: File[UploadedFile]):
    content = file.read(MAX_UPLOAD_BYTES + 1)
    return {"rows": rosters_import(actor=request.user, content=content, filename=file.name or "")}
