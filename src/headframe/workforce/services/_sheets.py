"""What every workforce workbook import shares: the file's rows (CSV or XLSX, after the size limits), the header's
columns with every problem named, and reading a cell as text or as a date."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Collection
from typing import Any

from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.spreadsheets import check_row_count, check_upload_size, open_workbook

FILE_LOC = ("file",)
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def sheet_rows(content: bytes, filename: str, *, what: str) -> list[list[Any]]:
    """The file's non-empty rows (header first) as lists of cells. `what` names the file in the refusal of
    another type (the message key unsupported_type.<what>: "send the workers as a .csv or .xlsx file…")."""
    check_upload_size(content, loc=FILE_LOC)
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        sheet = open_workbook(content, loc=FILE_LOC).worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    elif name.endswith((".csv", ".txt")):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(loc=FILE_LOC, type="not_utf8") from None
        sample = text[:4096]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        rows = [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    else:
        raise ValidationFailed(
            loc=FILE_LOC,
            type="unsupported_type",
            key=f"unsupported_type.{what}",
            params={"filename": filename},
        )
    rows = [row for row in rows if any(cell not in (None, "") for cell in row)]
    if not rows:
        raise ValidationFailed(loc=FILE_LOC, type="empty")
    check_row_count(len(rows) - 1, loc=FILE_LOC)
    return rows


def header_columns(
    row: list[Any],
    *,
    known: Collection[str],
    required: Collection[str],
    unknown_key: str,
    refused: Callable[[str, int], ErrorItem | None] | None = None,
) -> tuple[dict[str, int], list[ErrorItem]]:
    """Column name → index, and the header's problems at ("header", n) or ("header", name): a column `refused`
    turns down (e.g. a person's pay in a payroll of aggregates), an unknown one, one given twice, a required one
    missing."""
    columns: dict[str, int] = {}
    errors: list[ErrorItem] = []
    for index, cell in enumerate(row):
        name = cell_text(cell).lower()
        if not name:
            continue
        refusal = refused(name, index) if refused else None
        if refusal is not None:
            errors.append(refusal)
        elif name not in known:
            errors.append(
                ErrorItem(
                    ("header", index + 1), type="unknown_column", key=unknown_key, params={"column": name}
                )
            )
        elif name in columns:
            errors.append(ErrorItem(("header", index + 1), type="duplicate_column", params={}))
        else:
            columns[name] = index
    errors += [
        ErrorItem(
            ("header", name), type="missing_column", key="missing_column.named", params={"column": name}
        )
        for name in required
        if name not in columns
    ]
    return columns, errors


def cell_text(value: Any) -> str:
    """A cell as text: empty for none, 12 for 12.0 (spreadsheets store whole numbers as floats)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def cell_date(value: Any) -> dt.date | None:
    """A cell as a day: a spreadsheet date, or text as dd/mm/yyyy (also ISO, dd-mm-yyyy, dd.mm.yyyy); None when
    it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value)
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None
