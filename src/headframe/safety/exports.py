"""Campaign progress and readiness for the group: an Excel workbook (openpyxl) and a PDF (WeasyPrint, the
same data as the page, with the vendored Noto Sans so Vietnamese renders anywhere)."""

from __future__ import annotations

import io
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from headframe.core.downloads import XLSX_TYPE, html_to_pdf
from headframe.core.spreadsheets import append_row
from headframe.org.models import Unit
from headframe.safety import selectors
from headframe.safety.services.photos import photo_path

STATIC_DIR = Path(__file__).with_name("static") / "safety"


def export_data(campaign, user) -> dict:
    progress = selectors.campaign_progress(campaign, user)
    root_units = selectors.campaign_units(campaign)
    states = {}
    for unit in root_units:
        board = selectors.readiness_board(user, unit, campaign=campaign)
        for state in board.positions:
            states[state.position.pk] = state
    return {
        "campaign": campaign,
        "progress": progress,
        "states": states,
        "rows": [(p, states.get(p.campaign_position.position_id)) for p in progress.positions],
        "generated_at": timezone.localtime(),
    }


def _xlsx(data) -> bytes:
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="0B3D5C")
    head_font = Font(bold=True, color="FFFFFF")
    fills = {
        "ready": PatternFill("solid", fgColor="E3F1E5"),
        "released": PatternFill("solid", fgColor="C8E6C9"),
        "not_ready": PatternFill("solid", fgColor="FBE4E2"),
    }
    campaign = data["campaign"]
    progress = data["progress"]
    book = Workbook()
    sheet = book.active
    sheet.title = _("Progress")[:31]
    append_row(sheet, [f"{campaign.code} — {campaign.title}"])
    sheet["A1"].font = Font(bold=True, size=13)
    append_row(
        sheet,
        [
            _("From %(start)s to %(due)s")
            % {"start": f"{campaign.starts_on:%d/%m/%Y}", "due": f"{campaign.due_on:%d/%m/%Y}"}
        ],
    )
    append_row(sheet, [])
    header = [
        _("Unit"),
        _("Name"),
        _("Positions"),
        _("Done"),
        _("Failed"),
        _("Pending"),
        _("Overdue"),
        _("Ready"),
        _("Released"),
        _("% done"),
    ]
    append_row(sheet, header)
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = head_font, head_fill

    def line(row, indent=0):
        append_row(
            sheet,
            [
                ("  " * indent) + row.unit.code,
                row.unit.name,
                row.total,
                row.done,
                row.failed,
                row.pending,
                row.overdue,
                row.ready,
                row.released,
                row.done_pct / 100,
            ],
        )
        sheet.cell(sheet.max_row, 10).number_format = "0.0%"

    for site in progress.sites:
        line(site)
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for area in progress.areas.get(site.unit.code, []):
            line(area, 1)
    line(progress.total)
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for col, width in zip("ABCDEFGHIJ", (22, 40, 10, 9, 9, 9, 9, 9, 10, 9), strict=True):
        sheet.column_dimensions[col].width = width

    board = book.create_sheet(_("Readiness")[:31])
    append_row(
        board,
        [
            _("Position"),
            _("Name"),
            _("Mine"),
            _("Area"),
            _("Team"),
            _("Inspection"),
            _("Due"),
            _("State"),
            _("Released by"),
            _("Reasons"),
        ],
    )
    for cell in board[1]:
        cell.font, cell.fill = head_font, head_fill
    for p, state in data["rows"]:
        cp = p.campaign_position
        append_row(
            board,
            [
                cp.position.code,
                cp.position.name,
                p.site.code if p.site else "",
                p.area.code if p.area else "",
                cp.team,
                outcome_labels().get(p.outcome, p.outcome),
                p.inspection.due_on if p.inspection else None,
                state_labels().get(state.state, state.state) if state else "",
                state.released_by if state else "",
                "\n".join(r["msg"] for r in state.reasons) if state else "",
            ],
        )
        row = board.max_row
        board.cell(row, 7).number_format = "dd/mm/yyyy"
        board.cell(row, 10).alignment = Alignment(wrap_text=True, vertical="top")
        if state:
            board.cell(row, 8).fill = fills[state.state]
    for col, width in zip("ABCDEFGHIJ", (20, 36, 10, 14, 18, 16, 11, 16, 14, 70), strict=True):
        board.column_dimensions[col].width = width
    board.freeze_panes = "B2"

    overdue = book.create_sheet(_("Overdue")[:31])
    append_row(overdue, [_("Position"), _("Name"), _("Team"), _("Due")])
    for cell in overdue[1]:
        cell.font, cell.fill = head_font, head_fill
    for p in progress.overdue:
        append_row(
            overdue,
            [
                p.campaign_position.position.code,
                p.campaign_position.position.name,
                p.campaign_position.team,
                p.inspection.due_on if p.inspection else None,
            ],
        )
        overdue.cell(overdue.max_row, 4).number_format = "dd/mm/yyyy"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def outcome_labels() -> dict:  # evaluated per call, in the active language
    return {
        "pending": _("not inspected yet"),
        "passed": _("passed"),
        "passed_after_actions": _("passed after corrective actions"),
        "failed": _("failed"),
    }


def state_labels() -> dict:
    return {"ready": _("ready"), "released": _("released"), "not_ready": _("not ready")}


def _pdf(data) -> bytes:
    html = render_to_string(
        "safety/campaign_pdf.html",
        {**data, "outcome_labels": outcome_labels(), "state_labels": state_labels()},
    )
    return html_to_pdf(html, STATIC_DIR)


def campaign_export(campaign, user, fmt: str) -> tuple[bytes, str, str]:
    data = export_data(campaign, user)
    stamp = timezone.localtime().strftime("%Y%m%d")
    if fmt == "pdf":
        return _pdf(data), "application/pdf", f"{campaign.code}-{stamp}.pdf"
    return _xlsx(data), XLSX_TYPE, f"{campaign.code}-{stamp}.xlsx"


def inspection_pdf(inspection) -> tuple[bytes, str, str]:
    """One inspection as a PDF: every item with its answer, verdict, note and photos, the findings raised and
    the drawn signature. Photos are read from the media folder (a missing file is left out, not an error)."""
    answers = selectors.answers_by_item(inspection)
    photos = selectors.item_photos(inspection)

    def uri(photo):
        path = photo_path(photo)
        return path.resolve().as_uri() if path.exists() else ""

    sections = [
        {
            "section": s["section"],
            "items": [
                {
                    "item": item,
                    "answer": answers.get(item.pk),
                    "photos": [u for u in (uri(p) for p in photos.get(item.pk, [])) if u],
                }
                for item in s["items"]
            ],
        }
        for s in selectors.template_structure(inspection.template)
    ]
    html = render_to_string(
        "safety/inspection_pdf.html",
        {
            "inspection": inspection,
            "sections": sections,
            "progress": selectors.inspection_progress(inspection),
            "findings": list(selectors.inspection_findings(inspection)),
            "signature": uri(inspection.signature) if inspection.signature_id else "",
            "generated_at": timezone.localtime(),
        },
    )
    name = f"{inspection.position.code}-{inspection.sequence}-{timezone.localtime().strftime('%Y%m%d')}.pdf"
    return html_to_pdf(html, STATIC_DIR), "application/pdf", name


__all__ = ["Unit", "campaign_export", "inspection_pdf"]
