"""Pack endpoints, a router mounted beside the briefing one: /api/v1/briefing/meetings/{id}/pack(.pdf|.xlsx) and the ad-hoc
/api/v1/briefing/pack(.pdf|.xlsx)?unit=&from=&to=.

Scope: the whole pack needs VIEW on the meeting's unit; `?unit=<company>` asks for one company's pack, which
its own users may see; anything else is a 404 (never revealing what exists outside one's scope)."""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from ninja import Query, Router

from headframe.briefing import selectors
from headframe.briefing.pack.build import meeting_pack_for, pack_for_cached
from headframe.briefing.pack.export import pack_pdf
from headframe.briefing.pack.xlsx import pack_xlsx
from headframe.briefing.schemas import PackQuery
from headframe.core.downloads import XLSX_TYPE, attachment
from headframe.core.errors import NotFound, ValidationFailed
from headframe.org.selectors import unit_get
from headframe.production.selectors import default_day

router = Router(tags=["briefing"])

PDF_TYPE = "application/pdf"


def _file(description: str, content_type: str) -> dict:
    """The OpenAPI description of a route that answers with a file (declared as `response={200: None}`)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"responses": {200: {"description": description, "content": {content_type: binary}}}}


def _meeting_pack(request, meeting_id: int, unit: str | None) -> dict:
    meeting = selectors.meeting_get(request.user, meeting_id)
    # Without `unit` the whole pack is asked for: a company user gets a 404, never a silent company pack.
    pack = meeting_pack_for(request.user, meeting, unit or meeting.unit.code)
    if pack is None:
        if unit:
            raise NotFound(
                loc=("query", "unit"),
                params={"unit": unit, "meeting": str(meeting_id)},
                key="not_found.unit_pack",
            )
        raise NotFound(
            loc=("path", "meeting_id"), params={"meeting": str(meeting_id)}, key="not_found.meeting_pack"
        )
    return pack


def _adhoc_pack(request, unit: str, start: dt.date | None, end: dt.date | None) -> dict:
    target = unit_get(request.user, unit)
    end = end or default_day()
    start = start or end.replace(day=1)
    if end < start:
        raise ValidationFailed(
            loc=("query", "to"), type="bad_period", params={}, key="bad_period.to_before_from"
        )
    if (end - start).days > 366:
        raise ValidationFailed(
            loc=("query", "from"), type="period_too_long", params={}, key="period_too_long.pack"
        )
    return pack_for_cached(target, start, end)


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


@router.get(
    "/meetings/{meeting_id}/pack.pdf",
    response={200: None},
    summary="The meeting's briefing pack as PDF (A4 landscape)",
    openapi_extra=_file("The pack as a PDF file to save", PDF_TYPE),
)
def meeting_pack_pdf(request, meeting_id: int, unit: str | None = None, lang: str | None = None):
    pack = _meeting_pack(request, meeting_id, unit)
    return attachment(pack_pdf(pack, _language(lang)), PDF_TYPE, _name(pack, "pdf"))


@router.get(
    "/meetings/{meeting_id}/pack.xlsx",
    response={200: None},
    summary="The meeting's briefing pack as Excel (a sheet per section)",
    openapi_extra=_file("The pack as an Excel workbook to save", XLSX_TYPE),
)
def meeting_pack_xlsx(request, meeting_id: int, unit: str | None = None):
    pack = _meeting_pack(request, meeting_id, unit)
    return attachment(pack_xlsx(pack), XLSX_TYPE, _name(pack, "xlsx"))


@router.get("/pack", response=dict, summary="An ad-hoc briefing pack of a unit for a period (JSON)")
def adhoc_pack(request, q: Query[PackQuery]):
    return _adhoc_pack(request, q.unit, q.start, q.end)


@router.get(
    "/pack.pdf",
    response={200: None},
    summary="An ad-hoc briefing pack as PDF",
    openapi_extra=_file("The pack as a PDF file to save", PDF_TYPE),
)
def adhoc_pack_pdf(request, q: Query[PackQuery]):
    pack = _adhoc_pack(request, q.unit, q.start, q.end)
    return attachment(pack_pdf(pack, _language(q.lang)), PDF_TYPE, _name(pack, "pdf"))


@router.get(
    "/pack.xlsx",
    response={200: None},
    summary="An ad-hoc briefing pack as Excel",
    openapi_extra=_file("The pack as an Excel workbook to save", XLSX_TYPE),
)
def adhoc_pack_xlsx(request, q: Query[PackQuery]):
    pack = _adhoc_pack(request, q.unit, q.start, q.end)
    return attachment(pack_xlsx(pack), XLSX_TYPE, _name(pack, "xlsx"))
