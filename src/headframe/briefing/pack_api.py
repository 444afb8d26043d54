"""Pack endpoints on the briefing router: /api/v1/briefing/meetings/{id}/pack(.pdf|.xlsx) and the ad-hoc
/api/v1/briefing/pack(.pdf|.xlsx)?unit=&from=&to=.

Scope: the whole pack needs VIEW on the meeting's unit; `?unit=<company>` asks for one company's pack, which
its own users may see; anything else is a 404 (never revealing what exists outside one's scope)."""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from ninja import Field, Query, Schema

from headframe.briefing import selectors
from headframe.briefing.api import router
from headframe.briefing.pack import meeting_pack_for, pack_for
from headframe.briefing.pack_export import pack_pdf, pack_xlsx
from headframe.core.dates import Day
from headframe.core.downloads import XLSX_TYPE, attachment
from headframe.core.errors import NotFound, ValidationFailed
from headframe.org.selectors import unit_get
from headframe.production.selectors import default_day


def _meeting_pack(request, meeting_id: int, unit: str | None) -> dict:
    meeting = selectors.meeting_get(request.user, meeting_id)
    # Without `unit` the whole pack is asked for: a company user gets a 404, never a silent company pack.
    pack = meeting_pack_for(request.user, meeting, unit or meeting.unit.code)
    if pack is None:
        what = f"pack of {unit} in meeting {meeting_id}" if unit else f"pack of meeting {meeting_id}"
        raise NotFound(f"{what} not found", loc=("query", "unit") if unit else ("path", "meeting_id"))
    return pack


def _adhoc_pack(request, unit: str, start: dt.date | None, end: dt.date | None) -> dict:
    target = unit_get(request.user, unit)
    end = end or default_day()
    start = start or end.replace(day=1)
    if end < start:
        raise ValidationFailed("'to' must not be before 'from'", loc=("query", "to"), type="bad_period")
    if (end - start).days > 366:
        raise ValidationFailed("a pack covers at most a year", loc=("query", "from"), type="period_too_long")
    return pack_for(target, start, end)


def _language(lang: str | None) -> str:
    chosen = lang or translation.get_language() or "vi"
    return "en" if chosen.startswith("en") else "vi"


def _name(pack: dict, suffix: str) -> str:
    meeting = pack.get("meeting")
    head = f"giao-ban-{meeting['id']}" if meeting else "giao-ban"
    return f"{head}-{pack['unit']['code']}-{pack['period']['end'].replace('-', '')}.{suffix}"


@router.get("/meetings/{meeting_id}/pack", response=dict, summary="The meeting's briefing pack (JSON)")
def meeting_pack(request, meeting_id: int, unit: str | None = None):
    """Frozen when the meeting is closed, built now while it is open. `unit`: one company's pack."""
    return _meeting_pack(request, meeting_id, unit)


@router.get("/meetings/{meeting_id}/pack.pdf", summary="The meeting's briefing pack as PDF (A4 landscape)")
def meeting_pack_pdf(request, meeting_id: int, unit: str | None = None, lang: str | None = None):
    pack = _meeting_pack(request, meeting_id, unit)
    return attachment(pack_pdf(pack, _language(lang)), "application/pdf", _name(pack, "pdf"))


@router.get(
    "/meetings/{meeting_id}/pack.xlsx", summary="The meeting's briefing pack as Excel (a sheet per section)"
)
def meeting_pack_xlsx(request, meeting_id: int, unit: str | None = None):
    pack = _meeting_pack(request, meeting_id, unit)
    return attachment(pack_xlsx(pack), XLSX_TYPE, _name(pack, "xlsx"))


class PackQuery(Schema):
    unit: str = Field(description="unit code: the group or a company in your scope")
    start: Day | None = Field(None, alias="from", description="first day (default: first of to's month)")
    end: Day | None = Field(None, alias="to", description="last day, figures as of it (default: yesterday)")
    lang: str | None = Field(None, description="PDF language: vi (default) or en")


@router.get("/pack", response=dict, summary="An ad-hoc briefing pack of a unit for a period (JSON)")
def adhoc_pack(request, q: Query[PackQuery]):
    return _adhoc_pack(request, q.unit, q.start, q.end)


@router.get("/pack.pdf", summary="An ad-hoc briefing pack as PDF")
def adhoc_pack_pdf(request, q: Query[PackQuery]):
    pack = _adhoc_pack(request, q.unit, q.start, q.end)
    return attachment(pack_pdf(pack, _language(q.lang)), "application/pdf", _name(pack, "pdf"))


@router.get("/pack.xlsx", summary="An ad-hoc briefing pack as Excel")
def adhoc_pack_xlsx(request, q: Query[PackQuery]):
    pack = _adhoc_pack(request, q.unit, q.start, q.end)
    return attachment(pack_xlsx(pack), XLSX_TYPE, _name(pack, "xlsx"))
