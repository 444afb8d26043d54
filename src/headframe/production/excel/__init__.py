"""Excel in and out for production figures: the monthly entry template, its importer, and generic table
exports (xlsx and csv) for summary views.

Layout: `layout` (sheet names, headers, styles), `template`, `reading` (the importer), `tables` (exports).

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

from headframe.production.excel.layout import (
    DATA_SHEET,
    DATE_FORMAT,
    DAY_HEADER,
    GUIDE_SHEET,
    KEY_HEADERS,
    KEY_NAMES,
    MAX_SHIFT,
    NOTE_HEADERS,
    SHIFT_HEADER,
    UNIT_HEADER,
)
from headframe.production.excel.reading import (
    ParsedWorkbook,
    error_line,
    error_lines,
    import_actuals_workbook,
    parse_actuals_workbook,
    read_actuals_workbook,
)
from headframe.production.excel.tables import table_csv, table_csv_vi, table_xlsx
from headframe.production.excel.template import actuals_template

__all__ = [
    "DATA_SHEET",
    "DATE_FORMAT",
    "DAY_HEADER",
    "GUIDE_SHEET",
    "KEY_HEADERS",
    "KEY_NAMES",
    "MAX_SHIFT",
    "NOTE_HEADERS",
    "SHIFT_HEADER",
    "UNIT_HEADER",
    "ParsedWorkbook",
    "actuals_template",
    "error_line",
    "error_lines",
    "import_actuals_workbook",
    "parse_actuals_workbook",
    "read_actuals_workbook",
    "table_csv",
    "table_csv_vi",
    "table_xlsx",
]
