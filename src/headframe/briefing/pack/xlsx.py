"""The pack as an Excel workbook: one sheet per section, Vietnamese headers, numbers rounded to the decimals the
page shows (so the page, the PDF and the workbook agree to the unit), frozen header row."""

from __future__ import annotations

import io

from django.utils import translation
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from headframe.briefing.extensions import pack_sections_in
from headframe.briefing.pack.common import PRIORITIES, row_v2
from headframe.briefing.pack.export import (
    Column,
    iso_date,
    production_columns,
    rounded,
)
from headframe.briefing.pack.narrative import narrative_of
from headframe.briefing.selectors import kpi_state_labels, task_status_labels
from headframe.core.spreadsheets import append_row
from headframe.production.figures import ACTUALS, BASES, PLANS

ID_HEADERS = [
    ("Mã đơn vị", 12, None),
    ("Đơn vị", 34, None),
    ("Mã chỉ tiêu", 14, None),
    ("Chỉ tiêu", 22, None),
    ("ĐVT", 7, None),
]


def production_headers(pack: dict) -> tuple[list[tuple[str, int, str | None]], list[Column]]:
    """The production sheet's headers (Vietnamese, the labels of production.figures, each prefixed by its
    group where the label alone would not say it) and its figure columns."""
    columns = [c for _g, _vi, _en, cs in production_columns(pack, forecast=True) for c in cs]
    return [*ID_HEADERS, *((c.label.vi, c.width, c.kind) for c in columns)], columns


def _number_format(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def _sheet(book, title: str, headers: list[tuple[str, int, str | None]]):
    sheet = book.create_sheet(title)
    append_row(sheet, [h for h, _w, _f in headers])
    for i, (_h, width, _f) in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B3D5C")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[cell.column_letter].width = width
    sheet.row_dimensions[1].height = 32
    sheet.freeze_panes = "A2"
    return sheet


def _append(sheet, headers, values: list, decimals: int = 0) -> None:
    row = append_row(sheet, values)  # names, titles and narrative are text, never a formula
    for i, (_h, _w, kind) in enumerate(headers, start=1):
        cell = sheet.cell(row=row, column=i)
        if kind == "n":
            cell.number_format = _number_format(decimals)
        elif kind == "p":
            cell.number_format = "0.0"
        elif kind == "i":
            cell.number_format = "#,##0"
        elif kind == "d":
            cell.number_format = "DD/MM/YYYY"


def _section_sheets(book, pack: dict) -> None:
    """The sheets of the sections the apps above briefing register (briefing.extensions)."""
    for section in pack_sections_in(pack):
        if section.xlsx is None:
            continue
        for extra in section.xlsx([b for b in pack["blocks"] if section.name in b]):
            sheet = _sheet(book, extra.title, extra.headers)
            for values in extra.rows:
                _append(sheet, extra.headers, values)


def pack_xlsx(pack: dict) -> bytes:
    """The pack as a workbook: one sheet per section, Vietnamese headers, figures rounded as shown."""
    book = Workbook()
    summary = book.active
    summary.title = "Tóm tắt"
    unit = pack["unit"]
    meeting = pack.get("meeting") or {}
    append_row(summary, ["Báo cáo giao ban điều hành sản xuất"])
    summary["A1"].font = Font(bold=True, size=14)
    append_row(summary, ["Đơn vị", f"{unit['code']} — {unit['name_vi']}"])
    start, end = iso_date(pack["period"]["start"]), iso_date(pack["period"]["end"])
    append_row(summary, ["Kỳ báo cáo", f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"])
    if meeting:
        append_row(summary, ["Cuộc họp", meeting.get("title", "")])
    append_row(summary, ["Tóm tắt", narrative_of(pack, "vi")])
    append_row(summary, ["Summary (English)", narrative_of(pack, "en")])
    summary.column_dimensions["A"].width = 20
    summary.column_dimensions["B"].width = 140
    for row in summary.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
        row[0].font = Font(bold=True)
    summary.freeze_panes = "A2"

    headers, columns = production_headers(pack)
    sheet = _sheet(book, "Sản xuất", headers)
    for block in pack["blocks"]:
        u = block["unit"]
        for r in map(row_v2, block["production"]["rows"]):
            d = r["decimals"]
            _append(
                sheet,
                headers,
                [
                    u["code"],
                    u["name_vi"],
                    r["indicator"],
                    r["name_vi"],
                    r["uom"],
                    *(rounded(r[c.key], d) if c.kind == "n" else r[c.key] for c in columns),
                ],
                d,
            )

    ranking_basis = next(
        (r.get("basis", "month_to_date") for b in pack["blocks"] for r in b["production"]["ranking"]),
        "month_to_date",
    )
    basis = BASES[ranking_basis].vi
    headers = [
        ("Khối", 12, None),
        ("Chỉ tiêu", 22, None),
        ("Dẫn đầu", 34, None),
        (f"{basis} (dẫn đầu)", 14, "p"),
        ("Thấp nhất", 34, None),
        (f"{basis} (thấp nhất)", 14, "p"),
    ]
    sheet = _sheet(book, "Xếp hạng đơn vị", headers)
    for block in pack["blocks"]:
        for r in block["production"]["ranking"]:
            _append(
                sheet,
                headers,
                [
                    block["unit"]["code"],
                    r["name_vi"],
                    r["best"]["name_vi"],
                    r["best"]["pct"],
                    r["worst"]["name_vi"],
                    r["worst"]["pct"],
                ],
            )

    headers = [
        ("Mã đơn vị", 12, None),
        ("Đơn vị", 34, None),
        ("Chỉ tiêu", 22, None),
        ("ĐVT", 7, None),
        ("Cần đạt mỗi ngày", 16, "n"),
        ("Tốt nhất 30 ngày", 16, "n"),
        (PLANS["year"].vi, 18, "n"),
        (ACTUALS["year_to_date"].vi, 18, "n"),
    ]
    sheet = _sheet(book, "Cảnh báo sớm", headers)
    seen = set()
    for block in pack["blocks"]:
        for w in block["production"]["early_warnings"]:
            key = (w["unit"], w["indicator"])
            if key in seen:
                continue
            seen.add(key)
            d = w["decimals"]
            _append(
                sheet,
                headers,
                [
                    w["unit"],
                    w["unit_name_vi"],
                    w["name_vi"],
                    w["uom"],
                    rounded(w["required_daily"], d),
                    rounded(w["best_30_day_rate"], d),
                    rounded(w["year_plan"], d),
                    rounded(w["ytd_actual"], d),
                ],
                d,
            )

    headers = [
        ("Mã mỏ", 12, None),
        ("Mỏ", 34, None),
        ("Số cảnh báo", 12, "i"),
        ("Khẩn cấp", 10, "i"),
        ("Cao", 10, "i"),
        ("Trung bình", 10, "i"),
        ("Thấp", 10, "i"),
        ("Cảnh báo / 10 phút", 12, "p"),
        ("Số lần dồn dập", 12, "i"),
        ("Tồn đọng > 24 giờ", 12, "i"),
    ]
    sheet = _sheet(book, "An toàn", headers)
    root_safety = pack["blocks"][0]["safety"]
    for s in root_safety.get("sites", []):
        by = s["by_priority"]
        _append(
            sheet,
            headers,
            [
                s["code"],
                s["name_vi"],
                s["alarms"],
                *(by[p] for p in PRIORITIES),
                s["per_10_min"],
                s["flood_periods"],
                s["standing"],
            ],
        )
    extra = [
        (label, block["unit"], block["safety"][key]["count"])
        for block in pack["blocks"]
        for key, label in (
            ("incidents", "Sự cố trong kỳ"),
            ("open_critical", "Tồn tại nghiêm trọng chưa khắc phục (cuối kỳ)"),
            ("critical_opened_and_closed", "Tồn tại nghiêm trọng phát sinh và đã khắc phục trong kỳ"),
            ("overdue", "Tồn tại quá hạn khắc phục (cuối kỳ)"),
        )
        if key in block["safety"]
    ]
    if extra:
        headers = [("Mã đơn vị", 12, None), ("Đơn vị", 34, None), ("Nội dung", 34, None), ("Số", 10, "i")]
        sheet = _sheet(book, "Sự cố, tồn tại", headers)
        for label, u, count in extra:
            _append(sheet, headers, [u["code"], u["name_vi"], label, count])

    _section_sheets(book, pack)

    headers = [
        ("Nhóm", 16, None),
        ("Số", 10, None),
        ("Nội dung", 70, None),
        ("Đơn vị chủ trì", 30, None),
        ("Người chủ trì", 22, None),
        ("Hạn", 12, "d"),
        ("Trạng thái", 14, None),
        ("Hoàn thành ngày", 14, "d"),
    ]
    sheet = _sheet(book, "Kết luận, chỉ đạo", headers)
    directives = pack.get("directives") or {}
    group_vi = {"overdue": "Quá hạn", "due": "Đến hạn", "done": "Đã hoàn thành"}
    status_vi = {
        "open": "Mới",
        "in_progress": "Đang thực hiện",
        "overdue": "Quá hạn",
        "done": "Hoàn thành",
        "cancelled": "Hủy",
    }
    for key in ("overdue", "due", "done"):
        for d in directives.get(key, []):
            _append(
                sheet,
                headers,
                [
                    group_vi[key],
                    d["number"],
                    d["text"],
                    d["owner_name_vi"],
                    d["owner_person"],
                    iso_date(d["deadline"]),
                    status_vi.get(d["status"], d["status"]),
                    iso_date(d["done_at"]),
                ],
            )

    headers = [
        ("Số", 6, None),
        ("Nhiệm vụ trọng tâm", 50, None),
        ("Trạng thái", 14, None),
        ("KPI", 40, None),
        ("Giá trị", 16, "p"),
        ("Mục tiêu", 16, "p"),
        ("Đánh giá", 14, None),
    ]
    sheet = _sheet(book, "Nhiệm vụ trọng tâm", headers)
    with translation.override("vi"):
        kpi_vi, task_vi = kpi_state_labels(), task_status_labels()
    for task in (pack.get("key_tasks") or {}).get("items", []):
        kpis = task.get("kpis") or [{}]
        for kpi in kpis:
            _append(
                sheet,
                headers,
                [
                    task["number"],
                    task["title_vi"],
                    task_vi.get(task.get("status"), task.get("status", "")),
                    kpi.get("name_vi", ""),
                    kpi.get("value") if isinstance(kpi.get("value"), int | float) else None,
                    kpi.get("target"),
                    kpi_vi.get(kpi.get("state"), kpi.get("state", "")),
                ],
            )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
