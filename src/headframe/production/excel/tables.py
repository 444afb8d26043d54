"""Generic table exports (xlsx and csv) for summary views; user text is written as text, never a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from headframe.core.formatting import LOCAL_TZ, read_number
from headframe.core.spreadsheets import append_row
from headframe.production.excel.layout import _HEADER_FONT, DATE_FORMAT

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
