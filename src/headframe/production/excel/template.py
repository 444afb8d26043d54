"""The monthly entry template: one row per unit and day, a column per indicator."""

from __future__ import annotations

import calendar
import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from headframe.core.spreadsheets import append_row
from headframe.production.excel.layout import (
    _HEADER_ALIGN,
    _HEADER_FILL,
    _HEADER_FONT,
    _NOT_REPORTED_FILL,
    DATA_SHEET,
    DATE_FORMAT,
    DAY_HEADER,
    GUIDE_SHEET,
    SHIFT_HEADER,
    UNIT_HEADER,
)
from headframe.production.models import Indicator
from headframe.production.selectors import site_types_of


def actuals_template(unit, year: int, month: int, indicators: list[Indicator], units: list) -> bytes:
    """The month's entry sheet for `units` (the unit itself if the list is empty): one row per unit and
    day with shift 0 (whole day) and an empty cell per active, non-derived indicator. Cells of indicators a
    unit's site type does not report are shaded grey (the importer would refuse a figure there)."""
    indicators = [i for i in indicators if i.is_active and not i.is_derived]
    units = list(units) or [unit]
    site_types = site_types_of(units)
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    wb.properties.title = f"Số liệu thực hiện {unit.code} {month:02d}/{year}"
    wb.properties.creator = "headframe"

    headers = [UNIT_HEADER, DAY_HEADER, SHIFT_HEADER]
    headers += [f"{i.name_vi} ({i.unit_of_measure})\n{i.code}" for i in indicators]
    append_row(ws, headers)
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
    ws.row_dimensions[1].height = 45
    widths = [12, 12, 6] + [max(14, min(40, len(i.name_vi) + len(i.unit_of_measure) + 4)) for i in indicators]
    widths[0] = max(widths[0], *(len(u.code) + 2 for u in units))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "D2"

    days = calendar.monthrange(year, month)[1]
    row_number = 1
    for u in units:
        site_type = site_types.get(u.pk, "")
        grey = [bool(i.site_types and site_type and site_type not in i.site_types) for i in indicators]
        for day in range(1, days + 1):
            append_row(ws, [u.code, dt.date(year, month, day), 0])
            row_number += 1
            ws.cell(row_number, 2).number_format = DATE_FORMAT
            for offset, shaded in enumerate(grey):
                if shaded:
                    ws.cell(row_number, 4 + offset).fill = _NOT_REPORTED_FILL

    guide = wb.create_sheet(GUIDE_SHEET)
    guide.column_dimensions["A"].width = 110
    title = (
        f"Mẫu nhập số liệu thực hiện — {unit.code} {getattr(unit, 'name_vi', '')} — tháng {month:02d}/{year}"
    )
    lines = [
        title,
        "",
        f"Nhập số liệu vào trang “{DATA_SHEET}”. Mỗi dòng là một đơn vị, một ngày, một ca.",
        f"• {UNIT_HEADER}: mã đơn vị như trong danh mục (ví dụ {units[0].code}).",
        f"• {DAY_HEADER}: ngày sản xuất, dạng dd/mm/yyyy (ví dụ 05/{month:02d}/{year}) hoặc ô ngày của Excel.",
        f"• {SHIFT_HEADER}: 1, 2 hoặc 3 cho từng ca; 0 = cả ngày. Không nhập cả ca 0 và ca 1–3 cho cùng ngày.",
        "• Mỗi cột còn lại là một chỉ tiêu; dòng thứ hai của tiêu đề là mã chỉ tiêu — không sửa tiêu đề.",
        "• Số: nhập số của Excel, hoặc chữ theo kiểu Việt Nam: 1.234,5 hoặc 1 234,5 hoặc 1234,5 "
        "(dấu chấm ngăn hàng nghìn, dấu phẩy thập phân).",
        "  Lưu ý: 1.234 là một nghìn hai trăm ba mươi tư; muốn ghi một phẩy hai ba bốn thì ghi 1,234.",
        "• Ô trống = không có số liệu (không phải số 0). Muốn báo số 0 thì ghi 0.",
        "• Ô xám: đơn vị không báo chỉ tiêu này.",
        "• Chỉ tiêu tính toán (năng suất lao động, hệ số bóc đất…) không nhập: hệ thống tự tính.",
        "• Mọi ngày trong tệp phải cùng một năm kế hoạch; không nhập ngày trong tương lai.",
        "• Có thể thêm trang khác cùng tiêu đề cột; trang “Hướng dẫn” không được đọc.",
        "• Có thể thêm cột “Ghi chú” (không được đọc); mọi cột khác phải là một chỉ tiêu.",
        "",
        "Nhập lại cùng một tệp không thay đổi gì; sửa một số rồi nhập lại thì chỉ số đó được cập nhật "
        "(giá trị cũ được lưu trong nhật ký).",
        "Nếu có một ô sai, cả tệp bị từ chối và không có số liệu nào được lưu; thông báo lỗi ghi rõ "
        "trang, dòng và cột.",
    ]
    for line in lines:
        append_row(guide, [line])
    guide["A1"].font = Font(bold=True, size=13)
    for row in guide.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
