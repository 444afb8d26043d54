"""Spreadsheets in and out, safely: every import checks its size before it is parsed, and every export
writes text from users as text (never as a formula Excel would run).

Limits are stated once here and in the README. They are far above what a mine sends (a month of shift
reports for a company is a few thousand rows; a mine's sensor registry a few thousand sensors) and far below
what would hold the database or the memory of the server for long."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openpyxl import load_workbook  # type: ignore[import-untyped]  # no type information, see above

from headframe.core.errors import TooLarge, ValidationFailed

if TYPE_CHECKING:
    # openpyxl ships no type information (types-openpyxl is not a dependency): these are Any to mypy.
    from openpyxl.cell.cell import Cell  # type: ignore[import-untyped]
    from openpyxl.workbook.workbook import Workbook  # type: ignore[import-untyped]
    from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # one uploaded file (CSV or XLSX, as sent)
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # the sum of an XLSX's members once unzipped
MAX_PACKING_RATIO = 200  # one member unzipped ÷ zipped: past this it is a zip bomb, not a workbook
MAX_ROWS = 20_000  # data rows in one import
MAX_CELL_CHARS = 1_000  # characters in one cell

# openpyxl parses with defusedxml when it is installed (a runtime dependency): no entity expansion, no XXE.
try:  # pragma: no cover - import guard documents the dependency
    import defusedxml  # type: ignore[import-untyped]  # noqa: F401  # defusedxml ships no type information
except ImportError as exc:  # pragma: no cover
    raise ImportError(
        "headframe needs defusedxml so that uploaded workbooks cannot expand XML entities"
    ) from exc


def check_upload_size(
    content: bytes, *, limit: int = MAX_UPLOAD_BYTES, loc: Sequence[str | int] = ("file",)
) -> None:
    if len(content) > limit:
        raise TooLarge(
            loc=tuple(loc),
            type="file_too_large",
            params={"size": len(content), "limit": limit},
            key="file_too_large.bytes",
        )


def check_row_count(count: int, *, limit: int = MAX_ROWS, loc: Sequence[str | int] = ("file",)) -> None:
    if count > limit:
        raise TooLarge(
            loc=tuple(loc), type="too_many_rows", params={"limit": limit}, key="too_many_rows.split"
        )


def check_cell(
    value: object, *, where: str, limit: int = MAX_CELL_CHARS, loc: Sequence[str | int] = ("file",)
) -> None:
    """Refuse one cell longer than the limit; `where` names it the way a person finds it (Sheet!C12)."""
    if isinstance(value, str) and len(value) > limit:
        raise TooLarge(
            loc=tuple(loc),
            type="cell_too_large",
            params={"where": where, "count": len(value), "limit": limit},
            key="cell_too_large.where",
        )


def check_xlsx_archive(content: bytes, *, loc: Sequence[str | int] = ("file",)) -> None:
    """Before openpyxl parses anything: the file is a zip whose members unpack to a bounded size.
    A 1,5 MB file can hold 1,5 GB of sheet XML; the zip directory tells the sizes without unpacking."""
    where = tuple(loc)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationFailed(loc=where, type="not_xlsx", params={}, key="not_xlsx.unreadable") from None
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024 * 1024 and ratio > MAX_PACKING_RATIO:
            raise TooLarge(
                loc=where,
                type="unpacked_too_large",
                params={"member": member.filename, "ratio": round(ratio)},
                key="unpacked_too_large.ratio",
            )
    if total > MAX_UNPACKED_BYTES:
        raise TooLarge(
            loc=where,
            type="unpacked_too_large",
            params={"total": total, "limit": MAX_UNPACKED_BYTES},
            key="unpacked_too_large.total",
        )


def open_workbook(content: bytes, *, loc: Sequence[str | int] = ("file",)) -> Workbook:
    """A read-only openpyxl workbook from uploaded bytes, after the size and archive checks."""

    check_upload_size(content, loc=loc)
    check_xlsx_archive(content, loc=loc)
    try:
        return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (
        Exception
    ):  # openpyxl raises KeyError, ValueError, BadZipFile, defusedxml errors… for a non-workbook
        raise ValidationFailed(
            loc=tuple(loc), type="not_xlsx", params={}, key="not_xlsx.unreadable"
        ) from None


def write_text(cell: Cell, value: object) -> None:
    """Set a cell; a string is always text, even one that starts with '=' (openpyxl would store a formula)."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def append_row(sheet: Worksheet, values: Sequence[object]) -> int:
    """Append a row to a worksheet with every string stored as text; returns the row number."""
    sheet.append(list(values))
    row: int = sheet.max_row
    for index, value in enumerate(values, start=1):
        if isinstance(value, str) and value.startswith("="):
            sheet.cell(row, index).data_type = "s"
    return row
