"""Excel in and out for production figures: the monthly entry template, its importer, and generic table
exports (xlsx and csv) for summary views.

The importer is the spreadsheet door to `services.actuals_upsert`: it reads every data sheet, turns each
filled indicator cell into one `ActualRow` and lets the service decide what may be stored. A file is taken
whole or not at all: any parse error stops it before the service is called, and the service itself writes
nothing if one row is bad. Every error names its cell as `(sheet, excel row, column letter)`.

Numbers typed as text follow the Vietnamese convention (see `headframe.core.formatting.read_number`): ``1.234,5`` and ``1 234,5``
are one thousand two hundred thirty-four and a half, ``1.234`` is one thousand two hundred thirty-four,
``1234.5`` (no valid thousands grouping) is a decimal point. Cells holding real Excel numbers need none of
this: Excel shows them in the viewer's locale and stores the number itself.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from headframe.core.errors import ErrorItem, HeadframeError, PermissionDenied, ValidationFailed
from headframe.core.formatting import LOCAL_TZ, read_number
from headframe.core.spreadsheets import (
    MAX_ROWS,
    append_row,
    check_cell,
    check_row_count,
    check_upload_size,
    check_xlsx_archive,
)
from headframe.production.models import Indicator
from headframe.production.services import ActualRow, UpsertResult, actuals_upsert

_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")

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


# --- template ------------------------------------------------------------------------------------------


def actuals_template(unit, year: int, month: int, indicators: list[Indicator], units: list) -> bytes:
    """The month's entry sheet for `units` (the unit itself if the list is empty): one row per unit and
    day with shift 0 (whole day) and an empty cell per active, non-derived indicator. Cells of indicators a
    unit's site type does not report are shaded grey (the importer would refuse a figure there)."""
    from headframe.production.selectors import site_types_of

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


# --- parsing -------------------------------------------------------------------------------------------


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _norm(text) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


def _parse_day(value, epoch) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # An Excel date whose cell lost its date format: a serial day number. Only plausible years, so
        # that a bare day-of-month (5) is not taken for 05/01/1900.
        try:
            converted = from_excel(value, epoch)
        except (ValueError, OverflowError, TypeError):
            return None
        if isinstance(converted, dt.datetime) and 1990 <= converted.year < 2100:
            return converted.date()
        return None
    if isinstance(value, str):
        text = value.strip()
        match = _DMY.fullmatch(text)
        if match:
            d, m, y = (int(g) for g in match.groups())
        else:
            match = _ISO.fullmatch(text)
            if not match:
                return None
            y, m, d = (int(g) for g in match.groups())
        try:
            return dt.date(y, m, d)
        except ValueError:
            return None
    return None


def _parse_shift(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = _norm(value).casefold()
        text = text.removeprefix("ca").strip()
        if not text.isdigit():
            return None
        value = int(text)
    if isinstance(value, int) and 0 <= value <= MAX_SHIFT:
        return value
    return None


def _parse_value(value, *, percent_format: bool = False, percent_unit: bool = False):
    """The figure to hand to the service (it quantizes and range-checks), or None if not a number.
    For an indicator measured in %, a percent-formatted cell (0.125 shown as 12,5%) means 12.5 and a text
    "12,5%" means 12.5 too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)) * 100 if percent_format else value
    if isinstance(value, str):
        text = value.strip()
        if percent_unit and text.endswith("%"):
            text = text[:-1]
        return read_number(text)
    return None  # dates and times are not figures; Excel error values (#DIV/0!) arrive as text


def _unit_code(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _norm(value)


@dataclass
class _Sheet:
    name: str
    key_columns: dict[str, int]  # "unit"/"day"/"shift" -> 0-based column index
    indicator_columns: list[tuple[int, str]]  # (0-based index, indicator code)
    unlabelled: set[int]  # columns with a blank header (a figure there would be lost)
    width: int  # columns in the header row; anything right of it is unlabelled too

    def letter(self, key: str) -> str:
        return get_column_letter(self.key_columns[key] + 1)


@dataclass
class ParsedWorkbook:
    rows: list[ActualRow] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    sheets: dict[str, _Sheet] = field(default_factory=dict)


def _content(file) -> bytes:
    """The file's bytes: a path, bytes, or a file object (an upload, already bounded by the request-body limit)."""
    if isinstance(file, str | Path):
        return Path(file).read_bytes()
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file)
    if hasattr(file, "seek"):
        file.seek(0)
    return file.read()


def _open(file):
    """A read-only workbook, or ValidationFailed if the file is not an xlsx; TooLarge (413) past the upload,
    unpacked-size or packing-ratio limits, before openpyxl parses anything. Paths are opened here (not by
    openpyxl, which judges a file by its name); bytes and file objects are read as they are."""
    not_xlsx = ValidationFailed(
        "tệp không phải Excel .xlsx (tệp .xls cũ hoặc .csv: mở bằng Excel và lưu lại dạng .xlsx)",
        loc=("file",),
        type="not_xlsx",
    )
    content = _content(file)
    check_upload_size(content)
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise not_xlsx
    check_xlsx_archive(content)
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, ValueError, BadZipFile… for a zip that is not a workbook
        raise not_xlsx from None


def _read_header(name: str, header: Sequence, indicators: dict[str, str], errors: list) -> _Sheet | None:
    keys: dict[str, int] = {}
    pending: list[tuple[int, str]] = []
    unlabelled: set[int] = set()
    for index, raw in enumerate(header):
        if _blank(raw):
            unlabelled.add(index)
            continue
        lines = [line.strip() for line in _norm(raw).splitlines() if line.strip()]
        first = lines[0].casefold()
        key = next((k for k, names in KEY_HEADERS.items() if first in names), None)
        if first in NOTE_HEADERS:
            continue
        if key is not None and key not in keys:
            keys[key] = index
        else:
            pending.append((index, lines[-1]))
    if len(keys) < 2:
        return None  # not a data sheet (notes, a chart's data…): it needs at least two of the key columns
    sheet = _Sheet(name, keys, [], unlabelled, len(header))
    for key in KEY_HEADERS:
        if key not in keys:
            errors.append(ErrorItem((name, 1), f"thiếu cột “{KEY_NAMES[key]}”", "missing_column"))
    seen: dict[str, str] = {}
    for index, text in pending:
        letter = get_column_letter(index + 1)
        code = text.casefold()
        if code not in indicators:
            errors.append(
                ErrorItem(
                    (name, 1, letter),
                    f"tiêu đề cột không rõ {text!r}: dòng cuối của tiêu đề phải là mã chỉ tiêu",
                    "unknown_column",
                )
            )
        elif code in seen:
            errors.append(
                ErrorItem((name, 1, letter), f"chỉ tiêu {code} đã có ở cột {seen[code]}", "duplicate_column")
            )
        else:
            seen[code] = letter
            sheet.indicator_columns.append((index, code))
    return sheet


class _Reader:
    """Reads the data rows of one workbook, collecting figures and errors, and the plan year."""

    def __init__(self, parsed: ParsedWorkbook, *, epoch, percent_codes: set[str], max_rows: int):
        self.parsed, self.errors = parsed, parsed.errors
        self.epoch, self.percent_codes, self.max_rows = epoch, percent_codes, max_rows
        self.plan_year: int | None = None
        self.data_rows = 0
        self.keys: list[tuple[int, str]] = []  # the current sheet's unit/day/shift (index, letter)
        self.columns: list[tuple[int, str, str, bool]] = []  # (index, code, letter, measured in %)
        self.unlabelled: list[int] = []
        self.header_width = 0

    def error(self, loc: tuple, msg: str, type: str) -> None:
        self.errors.append(ErrorItem(loc, msg, type))

    def sheet(self, sheet: _Sheet, rows: Iterable[Sequence], indicators: dict[str, str]) -> None:
        keys = sheet.key_columns
        self.keys = [(keys[k], sheet.letter(k)) for k in ("unit", "day", "shift")]
        self.columns = [
            (i, indicators[c], get_column_letter(i + 1), indicators[c] in self.percent_codes)
            for i, c in sheet.indicator_columns
        ]
        self.unlabelled = sorted(sheet.unlabelled)
        self.header_width = sheet.width
        for number, cells in enumerate(rows, start=2):
            self.row(sheet.name, number, cells)

    def row(self, name: str, number: int, cells: Sequence) -> None:
        width = len(cells)
        content = False
        for index, cell in enumerate(cells):
            value = cell.value
            if isinstance(value, str):
                check_cell(value, where=f"{name}!{get_column_letter(index + 1)}{number}")
            content = content or not _blank(value)
        if content:
            # Every row with something in it counts, filled or not: the bound is on the work, not the figures.
            self.data_rows += 1
            check_row_count(self.data_rows, limit=self.max_rows)
        filled = [(c, cells[c[0]]) for c in self.columns if c[0] < width and not _blank(cells[c[0]].value)]
        for i in [*self.unlabelled, *range(self.header_width, width)]:
            if i < width and not _blank(cells[i].value):
                self.error(
                    (name, number, get_column_letter(i + 1)),
                    "ô có số liệu nhưng cột không có tiêu đề (mã chỉ tiêu)",
                    "unlabelled_column",
                )
        if not filled:
            return  # a blank row, or a template row nobody filled in
        (unit_i, unit_l), (day_i, day_l), (shift_i, shift_l) = self.keys
        raw_unit, raw_day, raw_shift = (
            cells[i].value if i < width else None for i in (unit_i, day_i, shift_i)
        )
        ok = True
        unit = "" if _blank(raw_unit) else _unit_code(raw_unit)
        if not unit:
            self.error((name, number, unit_l), "thiếu mã đơn vị", "missing_unit")
            ok = False
        day = None if _blank(raw_day) else _parse_day(raw_day, self.epoch)
        if day is None:
            what = "thiếu ngày" if _blank(raw_day) else f"ngày không hợp lệ {raw_day!r}"
            self.error((name, number, day_l), f"{what}: ghi dd/mm/yyyy", "bad_date")
            ok = False
        elif self.plan_year is None:
            self.plan_year = day.year
        elif day.year != self.plan_year:
            self.error(
                (name, number, day_l),
                f"ngày ngoài năm kế hoạch {self.plan_year}: {day:%d/%m/%Y} "
                "(năm kế hoạch là năm của ngày đầu tiên trong tệp)",
                "outside_plan_year",
            )
            ok = False
        shift = None if _blank(raw_shift) else _parse_shift(raw_shift)
        if shift is None:
            what = "thiếu ca" if _blank(raw_shift) else f"ca không hợp lệ {raw_shift!r}"
            self.error(
                (name, number, shift_l),
                f"{what}: ghi 1, 2, 3 (hoặc 4) cho từng ca, 0 cho cả ngày",
                "bad_shift",
            )
            ok = False
        for (_i, code, letter, percent_unit), cell in filled:
            raw = cell.value
            percent_format = isinstance(raw, int | float) and "%" in (cell.number_format or "")
            if percent_format and not percent_unit:
                self.error(
                    (name, number, letter),
                    f"ô định dạng phần trăm nhưng {code} không tính bằng %: bỏ định dạng % của ô",
                    "percent_format",
                )
                ok = False
                continue
            value = _parse_value(raw, percent_format=percent_format, percent_unit=percent_unit)
            if value is None:
                shown = raw.strip() if isinstance(raw, str) else raw
                self.error((name, number, letter), f"không phải số: {shown!r}", "not_a_number")
                ok = False
            elif ok:
                self.parsed.rows.append(ActualRow(unit, code, day, shift, value, (name, number, letter)))


def read_actuals_workbook(file, *, max_rows: int = MAX_ROWS) -> ParsedWorkbook:
    """Parse a workbook into figures, parse errors and each data sheet's column layout (used to name the
    cell of the service's errors). The upload's size, its unpacked size, every cell's length and the rows with
    anything in them (at most `max_rows`, over all sheets) are bounded: TooLarge (413) naming the limit."""
    catalogue = list(Indicator.objects.values_list("code", "unit_of_measure"))
    indicators = {code.casefold(): code for code, _uom in catalogue}
    percent_codes = {code for code, uom in catalogue if uom.strip() == "%"}
    parsed = ParsedWorkbook()
    wb = _open(file)
    try:
        reader = _Reader(parsed, epoch=wb.epoch, percent_codes=percent_codes, max_rows=max_rows)
        for ws in wb.worksheets:
            if _norm(ws.title).casefold() == GUIDE_SHEET.casefold():
                continue
            # Read-only mode trusts the sheet's stored dimensions, which some writers get wrong (rows past
            # them would be silently dropped): read whatever the sheet holds instead.
            ws.reset_dimensions()
            rows = ws.iter_rows()  # cells, not values: a percent-formatted cell holds a fraction
            header = next(rows, None)
            if not header:
                continue
            titles = [c.value for c in header]
            for index, title in enumerate(titles):
                check_cell(title, where=f"{ws.title}!{get_column_letter(index + 1)}1")
            sheet = _read_header(ws.title, titles, indicators, parsed.errors)
            if sheet is None:
                continue
            parsed.sheets[ws.title] = sheet
            if len(sheet.key_columns) == len(KEY_HEADERS):
                reader.sheet(sheet, rows, indicators)
    finally:
        wb.close()
    if not parsed.sheets:
        parsed.errors.append(
            ErrorItem(
                ("file",),
                f"không có trang nào có các cột “{UNIT_HEADER}”, “{DAY_HEADER}”, “{SHIFT_HEADER}” ở dòng 1",
                "no_data_sheet",
            )
        )
    return parsed


def parse_actuals_workbook(file, *, max_rows: int = MAX_ROWS) -> tuple[list[ActualRow], list[ErrorItem]]:
    """Every filled indicator cell of every data sheet as an ActualRow, and every parse error.

    A data sheet is any sheet but “Hướng dẫn” whose first row has the `Mã đơn vị`/`Ngày`/`Ca` headers
    (or `unit`/`day`/`shift`); every other non-blank header must end (last line) with an indicator code.
    Each row's `loc` is `(sheet, excel row, column letter)`, so the service's errors come back as
    `(sheet, row, letter, field)`; `import_actuals_workbook` folds those into `(sheet, row, letter)`.
    Raises ValidationFailed (loc ("file",)) for a file that is not an xlsx."""
    parsed = read_actuals_workbook(file, max_rows=max_rows)
    return parsed.rows, parsed.errors


def _cell_loc(loc: tuple, sheets: dict[str, _Sheet]) -> tuple:
    """(sheet, row, letter, field) from the service → (sheet, row, letter of the cell at fault)."""
    if len(loc) == 4 and loc[0] in sheets:
        name, number, letter, what = loc
        sheet = sheets[name]
        if what in sheet.key_columns:
            return (name, number, sheet.letter(what))
        return (name, number, letter)
    return loc


def _relocated(items: Iterable[ErrorItem], sheets: dict[str, _Sheet]) -> list[ErrorItem]:
    out: list[ErrorItem] = []
    seen: set[tuple] = set()
    for item in items:
        moved = ErrorItem(_cell_loc(tuple(item.loc), sheets), item.msg, item.type, item.params, item.key)
        key = (moved.loc, moved.msg)
        if key not in seen:  # a bad unit code is reported once per row, not once per figure
            seen.add(key)
            out.append(moved)
    return out


def import_actuals_workbook(
    *,
    actor,
    file,
    source: str = "xlsx",
    max_rows: int = MAX_ROWS,
    now: dt.datetime | None = None,
    confirm_implausible: bool = False,
) -> UpsertResult:
    """Parse the workbook and store its figures through `actuals_upsert`, all or nothing.

    Raises ValidationFailed listing every parse error (nothing is handed to the service then), or the
    service's ValidationFailed/PermissionDenied with each item's loc pointing at the cell:
    `(sheet, row, column letter)`; `("file",)` for a file that is not an xlsx, has no data sheet or no
    figures; TooLarge (413, loc `("file",)`) past a size limit (bytes, unpacked bytes, `max_rows` rows,
    characters in a cell). The file is read and checked whole before the service runs; the service then
    validates every row outside any transaction and writes in one short one.

    Implausible values (type "implausible", named by their cell) are refused unless `confirm_implausible`:
    the person checks the listed cells and uploads the same file again with the confirmation."""
    parsed = read_actuals_workbook(file, max_rows=max_rows)
    rows = parsed.rows
    if confirm_implausible:
        rows = [replace(row, confirm_implausible=True) for row in rows]
    if parsed.errors:
        # One pass: the cells that did parse are checked by the service too (bad numbers, conflicts, future
        # days, impossible values, reporting levels, permissions), so the list names every cell to fix.
        items = list(parsed.errors)
        if rows:
            try:
                actuals_upsert(actor=actor, rows=rows, source=source, now=now, check_only=True)
            except (ValidationFailed, PermissionDenied) as exc:
                items.extend(exc.items)
        raise ValidationFailed(items=_relocated(items, parsed.sheets))
    if not rows:
        raise ValidationFailed(
            "tệp không có số liệu nào (mọi ô chỉ tiêu đều trống)", loc=("file",), type="empty"
        )
    try:
        return actuals_upsert(actor=actor, rows=rows, source=source, now=now)
    except (ValidationFailed, PermissionDenied) as exc:
        raise type(exc)(items=_relocated(exc.items, parsed.sheets)) from None


def error_line(item: ErrorItem) -> str:
    """One error as `SHEET!ROW COLUMN: reason` (or `file: reason`), for the CLI and upload pages."""
    loc = tuple(item.loc)
    if len(loc) >= 2 and isinstance(loc[1], int):
        where = f"{loc[0]}!{loc[1]}" + "".join(f" {part}" for part in loc[2:])
    else:
        where = ".".join(str(part) for part in loc)
    return f"{where}: {item.text}" if where else item.text


def error_lines(exc: HeadframeError) -> list[str]:
    return [error_line(item) for item in exc.items]


# --- generic table export ------------------------------------------------------------------------------

_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(title: str) -> str:
    return (_SHEET_TITLE_BAD.sub(" ", title).strip() or "Sheet")[:31]


def _excel_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)  # Excel has no time zones: show local time
    return value


def _shown_width(value, number_format: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, int | float) and not isinstance(value, bool):
        decimals = len(number_format.partition(".")[2]) if number_format and "." in number_format else 0
        return len(f"{value:,.{decimals}f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def table_xlsx(
    title: str, headers: list[str], rows: list[list], number_formats: list[str | None] | None = None
) -> bytes:
    """A one-sheet workbook: bold frozen header row with an autofilter, sized columns, real numbers with
    the given number format per column (e.g. '#,##0', '#,##0.0'; Excel shows the viewer's separators).
    Decimals become floats, dates get dd/mm/yyyy, aware datetimes are shown in local time."""
    formats = list(number_formats or [])
    formats += [None] * (len(headers) - len(formats))
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(title)
    wb.properties.title = title
    wb.properties.creator = "headframe"
    append_row(ws, list(headers))
    for cell in ws[1]:
        cell.font = _HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [_shown_width(h, None) for h in headers]
    for row in rows:
        values = [_excel_value(v) for v in row]
        number = append_row(ws, values)  # text from users is text, never a formula
        for index, value in enumerate(values):
            fmt = formats[index] if index < len(formats) else None
            if fmt is None and isinstance(value, dt.datetime):
                fmt = "dd/mm/yyyy hh:mm"
            elif fmt is None and isinstance(value, dt.date):
                fmt = DATE_FORMAT
            if fmt and value is not None:
                ws.cell(number, index + 1).number_format = fmt
            if index >= len(widths):
                widths.append(0)
            widths[index] = max(widths[index], _shown_width(value, fmt))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    last = get_column_letter(max(len(headers), 1))
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        # Excel runs a cell that starts like a formula (CSV injection): quote it, unless it is a number.
        if value.startswith(_FORMULA_START) and read_number(value) is None:
            return "'" + value
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def table_csv(headers: list[str], rows: Iterable[Sequence]) -> str:
    """CSV text starting with a UTF-8 BOM (so Excel reads Vietnamese correctly): comma-separated, numbers
    with a '.' decimal point and no thousands separator, dates and datetimes ISO-8601. Text that Excel would
    run as a formula (=…, +…, -…, @…) gets a leading apostrophe. Encode the result as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue()


def _csv_value_vi(value) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return _csv_value(value)
    if isinstance(value, Decimal | int | float):
        return _csv_value(Decimal(str(value)) if isinstance(value, float) else value).replace(".", ",")
    if isinstance(value, dt.datetime):
        return (
            value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
            if value.tzinfo
            else f"{value:%d/%m/%Y %H:%M}"
        )
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return _csv_value(value)


def table_csv_vi(headers: list[str], rows: Iterable[Sequence]) -> str:
    """The CSV form Excel opens directly under Vietnamese regional settings: UTF-8 BOM, ';' between fields,
    ',' as the decimal mark and no thousands separator (1234,5), dates dd/mm/yyyy, local times. Text is
    guarded against formulas as in table_csv. Encode the result as UTF-8."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow([_csv_value_vi(v) for v in row])
    return buffer.getvalue()
