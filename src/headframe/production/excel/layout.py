"""The entry workbook's layout, shared by the template and its importer: sheet names, key headers, styles."""

from __future__ import annotations

from openpyxl.styles import Alignment, Font, PatternFill

DATA_SHEET = "Số liệu"
GUIDE_SHEET = "Hướng dẫn"
UNIT_HEADER, DAY_HEADER, SHIFT_HEADER = "Mã đơn vị", "Ngày", "Ca"
# First line of a key column's header, case-folded: Vietnamese or English.
KEY_HEADERS = {
    "unit": {"mã đơn vị", "unit", "unit code"},
    "day": {"ngày", "day", "date"},
    "shift": {"ca", "shift"},
}
KEY_NAMES = {"unit": UNIT_HEADER, "day": DAY_HEADER, "shift": SHIFT_HEADER}
NOTE_HEADERS = {"ghi chú", "note", "notes", "comment", "comments"}  # free-text columns, not read
DATE_FORMAT = "dd/mm/yyyy"
MAX_SHIFT = 4  # the service accepts 0 (whole day) to 4 (four-shift calendars)

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_NOT_REPORTED_FILL = PatternFill("solid", fgColor="D9D9D9")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")
