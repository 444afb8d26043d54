"""Workforce endpoints under /api/v1/workforce/: workers and their import, the lamp room (check-in and
check-out by tag number), who is underground now and the muster list of a mine. Parse → service/selector →
serialise (schemas in schemas.py); errors answer in the request's language through the API's one handler."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

from django.utils import timezone
from ninja import File, Query, Router, Status, UploadedFile

from headframe.core.errors import HeadframeError
from headframe.core.selectors import keyset_page
from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.workforce import selectors, services
from headframe.workforce.models import Presence, Worker
from headframe.workforce.schemas.people import (
    CheckInIn,
    CheckOutIn,
    MusterOut,
    PresenceOut,
    UndergroundOut,
    UndergroundQuery,
    WorkerPageOut,
    WorkerQuery,
    WorkersImportOut,
)

router = Router(tags=["workforce"])

# The services name their arguments (tag_no, site_code); the API's fields are `tag` and `site`.
_FIELDS = {"tag_no": "tag", "site_code": "site"}


@contextlib.contextmanager
def fields_as_sent(names: dict[str, str] = _FIELDS) -> Iterator[None]:
    """An error's loc names the field as the client sent it (the service's argument name → the API's)."""
    try:
        yield
    except HeadframeError as exc:
        exc.items[:] = [
            dataclasses.replace(item, loc=tuple(names.get(str(p), p) for p in item.loc))
            if len(item.loc) > 1 and item.loc[0] == "body"
            else item
            for item in exc.items
        ]
        raise


def code_of(unit: Any) -> str | None:
    """A unit's code, whether the selector handed over the unit or its code already."""
    if unit is None or unit == "":
        return None
    return getattr(unit, "code", unit)


def name_of(unit: Any) -> str:
    return getattr(unit, "name", "") or (code_of(unit) or "")


def _worker_out(worker: Worker, may_manage: bool) -> dict:
    return {
        "employee_no": worker.employee_no,
        "full_name": worker.full_name,
        "unit": worker.unit.code,
        "team": worker.team,
        "trade": worker.trade,
        "skill_grade": worker.skill_grade,
        "hire_date": worker.hire_date,
        "health_class": worker.health_class if may_manage else None,
        "tag_no": worker.tag_no,
        "is_active": worker.is_active,
    }


def _refusals_out(refusals: Any) -> list[dict]:
    out = []
    for item in refusals or []:
        if isinstance(item, dict):
            out.append({"type": str(item.get("type", "")), "msg": str(item.get("msg", ""))})
        else:
            out.append({"type": str(item), "msg": str(item)})
    return out


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def presence_out(presence: Presence) -> dict:
    worker = presence.worker
    return {
        "id": presence.pk,
        "employee_no": worker.employee_no,
        "full_name": worker.full_name,
        "trade": worker.trade,
        "site": presence.site.code,
        "checked_in_at": presence.checked_in_at,
        "checked_out_at": presence.checked_out_at,
        "checked_in_by": _username(presence.checked_in_by),
        "checked_out_by": _username(presence.checked_out_by),
        "override_by": _username(presence.override_by),
        "override_reason": presence.override_reason,
        "refusals": _refusals_out(presence.refusals),
    }


def underground_row_out(row: Any) -> dict:
    return {
        "employee_no": row.employee_no,
        "full_name": row.full_name,
        "trade": row.trade,
        "site": code_of(row.site),
        "area": code_of(row.area),
        "position": code_of(row.position),
        "checked_in_at": row.checked_in_at,
        "shift_end": row.shift_end,
        "overdue": row.overdue,
    }


def muster_out(muster: Any) -> dict:
    groups = []
    for area, position, rows in muster.groups:
        groups.append(
            {
                "area": code_of(area),
                "area_name": name_of(area) if area else "",
                "position": code_of(position),
                "position_name": name_of(position) if position else "",
                "count": len(rows),
                "people": [underground_row_out(r) for r in rows],
            }
        )
    return {
        "site": code_of(muster.site),
        "site_name": name_of(muster.site),
        "generated_at": muster.generated_at,
        "total": muster.total,
        "groups": groups,
    }


# --- workers ------------------------------------------------------------------------------------------------


@router.get("/workers", response=WorkerPageOut, summary="Workers of the units you may see, newest first")
def workers(request, filters: Query[WorkerQuery]):
    qs = selectors.workers_visible(request.user).select_related("unit")
    if filters.unit:
        unit = unit_get(request.user, filters.unit, loc=("query", "unit"))
        qs = qs.filter(unit__path__startswith=unit.path)
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    scope = scope_for(request.user)
    return {
        "items": [_worker_out(w, scope.allows(Perm.WORKFORCE, w.unit.path)) for w in rows],
        "next_cursor": next_cursor,
    }


@router.post(
    "/workers/import",
    response=WorkersImportOut,
    summary="Create or update workers from the HR workbook (CSV or XLSX; all rows or none, every bad cell named)",
)
def workers_import(request, file: File[UploadedFile]):
    # Never more than one byte past the limit in memory: the service answers 413 naming the limit.
    content = file.read(MAX_UPLOAD_BYTES + 1)
    result = services.workers_import(actor=request.user, content=content, filename=file.name or "")
    return {"created": result.created, "updated": result.updated}


# --- the lamp room ------------------------------------------------------------------------------------------


@router.post(
    "/presence/check-in",
    response={201: PresenceOut},
    summary="Check a person in at a mine by tag number (409 lists every reason a person is refused)",
)
def check_in(request, payload: CheckInIn):
    with fields_as_sent():
        presence = services.check_in(
            actor=request.user,
            tag_no=payload.tag,
            site_code=payload.site,
            override_reason=payload.override_reason,
        )
    return Status(201, presence_out(presence))


@router.post(
    "/presence/check-out", response=PresenceOut, summary="Check a person out at a mine by tag number"
)
def check_out(request, payload: CheckOutIn):
    with fields_as_sent():
        presence = services.check_out(actor=request.user, tag_no=payload.tag, site_code=payload.site)
    return presence_out(presence)


# --- who is underground -------------------------------------------------------------------------------------


@router.get(
    "/underground",
    response=UndergroundOut,
    summary="Who is underground now, per mine (overdue people first)",
)
def underground(request, filters: Query[UndergroundQuery]):
    if filters.site:
        unit_get(request.user, filters.site, loc=("query", "site"))
    # overdue people first, then as the selector lists them (by mine, then check-in time)
    rows = sorted(selectors.underground_now(request.user, filters.site or None), key=lambda r: not r.overdue)
    counts: dict[str, int] = {}
    for row in rows:
        site = code_of(row.site) or ""
        counts[site] = counts.get(site, 0) + 1
    return {
        "generated_at": timezone.now(),
        "total": len(rows),
        "counts": counts,
        "people": [underground_row_out(r) for r in rows],
    }


@router.get(
    "/muster/{site}",
    response=MusterOut,
    summary="The muster list of a mine: everyone underground there now, by area and work position",
)
def muster(request, site: str):
    unit_get(request.user, site, loc=("path", "site"))
    return muster_out(selectors.muster_list(request.user, site))
