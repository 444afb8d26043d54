"""The importer: the spreadsheet door to `services.actuals_upsert`.

It reads every data sheet, turns each filled indicator cell into one `ActualRow` and lets the service decide
what may be stored. A file is taken whole or not at all; every error names its cell as
`(sheet, excel row, column letter)`."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from headframe.core.errors import ErrorItem, HeadframeError, PermissionDenied, ValidationFailed
from headframe.core.formatting import read_number
from headframe.core.spreadsheets import (
    MAX_ROWS,
    check_cell,
    check_row_count,
    check_upload_size,
    check_xlsx_archive,
)
from headframe.production.excel.layout import (
    DAY_HEADER,
    GUIDE_SHEET,
    KEY_HEADERS,
    KEY_NAMES,
    MAX_SHIFT,
    NOTE_HEADERS,
    SHIFT_HEADER,
    UNIT_HEADER,
)
from headframe.production.models import Indicator
from headframe.production.services import ActualRow, UpsertResult, actuals_upsert

_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")


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
    not_xlsx = ValidationFailed(loc=("file",), type="not_xlsx", params={}, key="not_xlsx.workbook")
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
            errors.append(
                ErrorItem(
                    (name, 1),
                    type="missing_column",
                    params={"column": KEY_NAMES[key]},
                    key="missing_column.named",
                )
            )
    seen: dict[str, str] = {}
    for index, text in pending:
        letter = get_column_letter(index + 1)
        code = text.casefold()
        if code not in indicators:
            errors.append(
                ErrorItem(
                    (name, 1, letter),
                    type="unknown_column",
                    params={"column": text},
                    key="unknown_column.named",
                )
            )
        elif code in seen:
            errors.append(
                ErrorItem(
                    (name, 1, letter),
                    type="duplicate_column",
                    params={"indicator": code, "column": seen[code]},
                    key="duplicate_column.named",
                )
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

    def error(self, loc: tuple, type: str, key: str = "", **params) -> None:
        """A refused cell: `key` (or `type`) names its catalogue message, `params` its values."""
        self.errors.append(ErrorItem(loc, type=type, params=params, key=key))

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
                    (name, number, get_column_letter(i + 1)), "unlabelled_column", "unlabelled_column.cell"
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
            self.error((name, number, unit_l), "missing_unit")
            ok = False
        day = None if _blank(raw_day) else _parse_day(raw_day, self.epoch)
        if day is None:
            if _blank(raw_day):
                self.error((name, number, day_l), "bad_date", "bad_date.missing")
            else:
                self.error((name, number, day_l), "bad_date", "bad_date.value", value=repr(raw_day))
            ok = False
        elif self.plan_year is None:
            self.plan_year = day.year
        elif day.year != self.plan_year:
            self.error(
                (name, number, day_l),
                "outside_plan_year",
                "outside_plan_year.day",
                year=str(self.plan_year),
                day=day,
            )
            ok = False
        shift = None if _blank(raw_shift) else _parse_shift(raw_shift)
        if shift is None:
            if _blank(raw_shift):
                self.error((name, number, shift_l), "bad_shift", "bad_shift.missing")
            else:
                self.error((name, number, shift_l), "bad_shift", "bad_shift.value", value=repr(raw_shift))
            ok = False
        for (_i, code, letter, percent_unit), cell in filled:
            raw = cell.value
            percent_format = isinstance(raw, int | float) and "%" in (cell.number_format or "")
            if percent_format and not percent_unit:
                self.error(
                    (name, number, letter), "percent_format", "percent_format.indicator", indicator=code
                )
                ok = False
                continue
            value = _parse_value(raw, percent_format=percent_format, percent_unit=percent_unit)
            if value is None:
                shown = raw.strip() if isinstance(raw, str) else raw
                self.error((name, number, letter), "not_a_number", "not_a_number.value", value=repr(shown))
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
                type="no_data_sheet",
                params={"unit": UNIT_HEADER, "day": DAY_HEADER, "shift": SHIFT_HEADER},
                key="no_data_sheet.headers",
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
        raise ValidationFailed(loc=("file",), type="empty", params={}, key="empty.workbook")
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
