"""Rosters from a workbook: each (work position, day, shift) listed gets exactly the crew the file lists for it.
All rows or none; every bad cell is named by row and column."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from django.db import transaction

from headframe.core.errors import ErrorItem, HeadframeError, ValidationFailed
from headframe.workforce.services._sheets import cell_date, cell_text, header_columns, sheet_rows
from headframe.workforce.services.rosters import roster_set

COLUMNS = ("day", "shift", "position", "employee_no")


def _read(
    rows: list[list], columns: dict[str, int]
) -> tuple[dict[tuple, list[tuple[int, str]]], list[ErrorItem]]:
    """(position, day, shift) → [(row number, employee no)], and the cells that cannot be read."""
    groups: dict[tuple, list[tuple[int, str]]] = defaultdict(list)
    errors: list[ErrorItem] = []
    seen: dict[tuple, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        cell = {name: row[i] if i < len(row) else None for name, i in columns.items()}
        day = cell_date(cell["day"])
        if day is None:
            errors.append(
                ErrorItem(
                    ("row", number, "day"),
                    type="bad_date",
                    key="bad_date.roster_cell",
                    params={"value": cell["day"]},
                )
            )
        shift_text = cell_text(cell["shift"])
        shift = int(shift_text) if shift_text.isdigit() and 1 <= int(shift_text) <= 9 else None
        if shift is None:
            errors.append(
                ErrorItem(
                    ("row", number, "shift"),
                    type="shift_range",
                    key="shift_range.cell",
                    params={"value": shift_text},
                )
            )
        position, employee_no = cell_text(cell["position"]), cell_text(cell["employee_no"])
        for name, value in (("position", position), ("employee_no", employee_no)):
            if not value:
                errors.append(
                    ErrorItem(
                        ("row", number, name), type="missing", key="missing.cell", params={"column": name}
                    )
                )
        if day is None or shift is None or not position or not employee_no:
            continue
        first = seen.setdefault((employee_no, day, shift), number)
        if first != number:
            errors.append(
                ErrorItem(
                    ("row", number, "employee_no"),
                    type="roster_conflict",
                    key="roster_conflict.rows",
                    params={"employee_no": employee_no, "row": first},
                )
            )
            continue
        groups[(position, day, shift)].append((number, employee_no))
    return groups, errors


def _at_rows(exc: HeadframeError, members: list[tuple[int, str]]) -> list[ErrorItem]:
    """roster_set's errors point into its request (position_code, day, shift, employee_nos[i]): name the file's
    row and column instead."""
    out = []
    for item in exc.items:
        loc = tuple(item.loc)
        if len(loc) >= 3 and loc[1] == "employee_nos" and isinstance(loc[2], int) and loc[2] < len(members):
            where = ("row", members[loc[2]][0], "employee_no")
        else:
            field = {"position_code": "position", "day": "day", "shift": "shift"}.get(
                str(loc[-1]), "position"
            )
            where = ("row", members[0][0], field)
        out.append(dataclasses.replace(item, loc=where))
    return out


@transaction.atomic
def rosters_import(*, actor, content: bytes, filename: str) -> int:
    """Set the crews a CSV/XLSX workbook lists (columns day, shift, position, employee_no; one row per person):
    each (position, day, shift) in the file gets exactly the people listed for it, through roster_set (so the
    same permission, conflict and fitness rules hold). Returns the rows stored. Nothing is written when any row
    is refused; every refusal names its row and column."""
    rows = sheet_rows(content, filename, what="rosters")
    columns, errors = header_columns(
        rows[0], known=COLUMNS, required=COLUMNS, unknown_key="unknown_column.roster"
    )
    if errors:
        raise ValidationFailed(items=errors)
    groups, errors = _read(rows, columns)
    if errors:
        raise ValidationFailed(items=errors)
    # Empty every listed crew first: a person moved from one listed position to another is then no conflict.
    for (position, day, shift), members in groups.items():
        try:
            roster_set(actor=actor, position_code=position, day=day, shift=shift, employee_nos=[])
        except HeadframeError as exc:
            errors += _at_rows(exc, members)
    stored = 0
    if not errors:
        for (position, day, shift), members in groups.items():
            try:
                stored += roster_set(
                    actor=actor,
                    position_code=position,
                    day=day,
                    shift=shift,
                    employee_nos=[no for _n, no in members],
                )
            except HeadframeError as exc:
                errors += _at_rows(exc, members)
    if errors:
        raise ValidationFailed(items=sorted(errors, key=lambda item: (item.loc[1], str(item.loc[2]))))
    return stored
