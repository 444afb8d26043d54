"""The workers' import from the HR workbook (CSV or XLSX): all rows or none, every bad cell named."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import override

from headframe.core.audit import audit_entry, audit_record_many, snapshot
from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.messages import named
from headframe.core.spreadsheets import check_cell
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import Trade, Worker, employee_no_validator
from headframe.workforce.services._sheets import cell_date, cell_text, header_columns, sheet_rows

COLUMNS = (
    "employee_no",
    "full_name",
    "unit",
    "team",
    "trade",
    "skill_grade",
    "hire_date",
    "health_class",
    "tag_no",
)
REQUIRED = ("employee_no", "full_name", "unit")
FIELDS = ("full_name", "unit", "team", "trade", "skill_grade", "hire_date", "health_class", "tag_no")
MAX_LENGTH = {"full_name": 200, "team": 60, "tag_no": 20}
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _trade_names() -> dict[str, str]:
    """Every way a trade may be written: its value, its English and its Vietnamese label (any case)."""
    names: dict[str, str] = {}
    for value, label in Trade.choices:
        names[value.lower()] = value
        for language in ("en", "vi"):
            with override(language):
                names[str(label).strip().lower()] = value
    return names


def _header(row: list[Any]) -> tuple[dict[str, int], list[ErrorItem]]:
    return header_columns(row, known=COLUMNS, required=REQUIRED, unknown_key="unknown_column.worker")


def _whole(value: Any, upper: int, *, roman: bool = False) -> int | None:
    text = cell_text(value)
    if roman and text.upper() in ROMAN:
        return ROMAN[text.upper()]
    return int(text) if re.fullmatch(r"\d{1,2}", text) and 1 <= int(text) <= upper else None


def _date(value: Any) -> dt.date:
    day = cell_date(value)
    if day is None:
        raise ValueError(cell_text(value))
    return day


class _Reader:
    """Reads one data row into a worker's fields, collecting every bad cell."""

    def __init__(self, actor, columns: dict[str, int], units: dict[str, Unit]) -> None:
        self.columns = columns
        self.units = units
        self.scope = scope_for(actor)
        self.trades = _trade_names()
        self.errors: list[ErrorItem] = []

    def bad(self, number: int, where: str, type: str, key: str = "", **params: Any) -> None:
        self.errors.append(ErrorItem(("row", number, where), type=type, key=key, params=params))

    def cell(self, row: list[Any], column: str, number: int) -> Any:
        index = self.columns.get(column)
        value = row[index] if index is not None and index < len(row) else None
        check_cell(value, where=f"row {number}, {column}", loc=("row", number, column))
        return value

    def read(self, row: list[Any], number: int) -> dict[str, Any] | None:
        before = len(self.errors)
        values: dict[str, Any] = {}
        employee_no = cell_text(self.cell(row, "employee_no", number))
        if not employee_no:
            self.bad(number, "employee_no", "missing", "missing.cell", column="employee_no")
        elif not re.fullmatch(employee_no_validator.regex, employee_no):
            self.bad(number, "employee_no", "bad_employee_no", "bad_employee_no.value", value=employee_no)
        values["employee_no"] = employee_no
        for column in ("full_name", "team", "tag_no"):
            text = cell_text(self.cell(row, column, number))
            if column == "full_name" and not text:
                self.bad(number, column, "missing", "missing.cell", column=column)
            if len(text) > MAX_LENGTH[column]:
                self.bad(number, column, "too_long", "too_long.cell", column=column, max=MAX_LENGTH[column])
            values[column] = text
        values["tag_no"] = values["tag_no"] or None
        values["unit"] = self._unit(cell_text(self.cell(row, "unit", number)), number)
        trade = cell_text(self.cell(row, "trade", number))
        values["trade"] = self.trades.get(trade.lower()) if trade else Trade.OTHER
        if values["trade"] is None:
            self.bad(number, "trade", "enum", "enum.trade", value=trade, choices=", ".join(Trade.values))
        values["skill_grade"] = self._whole(row, number, "skill_grade", 7)
        values["health_class"] = self._whole(row, number, "health_class", 6, roman=True)
        raw_date = self.cell(row, "hire_date", number)
        try:
            values["hire_date"] = _date(raw_date) if cell_text(raw_date) else None
        except ValueError:
            self.bad(number, "hire_date", "bad_date", "bad_date.hire_date", value=cell_text(raw_date))
        return values if len(self.errors) == before else None

    def _whole(
        self, row: list[Any], number: int, column: str, upper: int, *, roman: bool = False
    ) -> int | None:
        raw = self.cell(row, column, number)
        if not cell_text(raw):
            return 1
        value = _whole(raw, upper, roman=roman)
        if value is None:
            self.bad(number, column, "range", f"range.{column}", value=cell_text(raw))
        return value

    def _unit(self, code: str, number: int) -> Unit | None:
        if not code:
            self.bad(number, "unit", "missing", "missing.cell", column="unit")
            return None
        unit = self.units.get(code)
        if unit is None or not self.scope.allows(Perm.VIEW, unit.path):
            self.bad(number, "unit", "unknown_unit", "unknown_unit.named", unit=repr(code))
            return None
        if not self.scope.allows(Perm.WORKFORCE, unit.path):
            self.bad(number, "unit", "permission_denied", "permission_denied.workforce", unit=unit.code)
            return None
        if unit.kind not in (UnitKind.COMPANY, UnitKind.SITE, UnitKind.AREA):
            self.bad(number, "unit", "worker_unit_kind", "worker_unit_kind.named", unit=named(unit))
            return None
        return unit


def _cross_checks(
    reader: _Reader, rows: list[tuple[int, dict[str, Any]]], existing: dict[str, Worker]
) -> None:
    """Duplicates within the file, tags of other workers, and workers of units outside the actor's scope."""
    seen: dict[str, int] = {}
    tags: dict[str, int] = {}
    for number, values in rows:
        if values["employee_no"] in seen:
            reader.bad(
                number, "employee_no", "duplicate", "duplicate.employee_no", employee_no=values["employee_no"]
            )
        seen.setdefault(values["employee_no"], number)
        tag = values["tag_no"]
        if tag and tag in tags:
            reader.bad(number, "tag_no", "duplicate", "duplicate.tag_no", tag=tag)
        if tag:
            tags.setdefault(tag, number)
        current = existing.get(values["employee_no"])
        if current is not None and not reader.scope.allows(Perm.WORKFORCE, current.unit.path):
            reader.bad(
                number, "unit", "permission_denied", "permission_denied.workforce", unit=current.unit.code
            )
    holders = Worker.objects.filter(tag_no__in=list(tags)).exclude(employee_no__in=list(seen))
    for employee_no, tag, path in holders.values_list("employee_no", "tag_no", "unit__path"):
        if reader.scope.allows(Perm.VIEW, path):
            reader.bad(tags[tag], "tag_no", "tag_taken", "tag_taken.named", tag=tag, worker=employee_no)
        else:  # another company's person is not named
            reader.bad(tags[tag], "tag_no", "tag_taken", "tag_taken.other", tag=tag)


@transaction.atomic
def workers_import(*, actor, content: bytes, filename: str) -> ImportResult:
    """Create or update workers (by employee number) from a CSV or XLSX workbook with the columns
    employee_no, full_name, unit (required), team, trade, skill_grade, hire_date (dd/mm/yyyy or ISO),
    health_class (1–6 or I–VI), tag_no. All rows or none: every bad cell is an item at ("row", n, column)
    (n counts the header as row 1, as a spreadsheet does); nothing is written when any row is bad. A unit (or an
    existing worker's unit) outside the actor's workforce scope is refused."""
    rows = sheet_rows(content, filename, what="workers")
    columns, header_errors = _header(rows[0])
    if header_errors:
        raise ValidationFailed(items=header_errors)
    codes = {cell_text(row[columns["unit"]]) for row in rows[1:] if columns["unit"] < len(row)}
    units = {unit.code: unit for unit in Unit.objects.filter(code__in=codes)}
    reader = _Reader(actor, columns, units)
    read: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(rows[1:], start=2):
        values = reader.read(row, number)
        if values is not None:
            read.append((number, values))
    existing = {
        w.employee_no: w
        for w in Worker.objects.select_related("unit").filter(
            employee_no__in=[v["employee_no"] for _n, v in read]
        )
    }
    _cross_checks(reader, read, existing)
    if reader.errors:
        raise ValidationFailed(items=reader.errors)
    return _write(actor, [values for _n, values in read], existing)


def _write(actor, rows: list[dict[str, Any]], existing: dict[str, Worker]) -> ImportResult:
    created: list[Worker] = []
    updated: list[tuple[Worker, dict[str, Any]]] = []
    for values in rows:
        worker = existing.get(values["employee_no"])
        if worker is None:
            created.append(Worker(**values, is_active=True))
            continue
        before = snapshot(worker, FIELDS)
        was_active = worker.is_active
        for name in FIELDS:
            setattr(worker, name, values[name])
        worker.is_active = True
        if snapshot(worker, FIELDS) != before or not was_active:
            updated.append((worker, before))
    # Tags moving between workers of the file: free them first, so no row meets another's old tag.
    Worker.objects.filter(pk__in=[w.pk for w, _b in updated]).update(tag_no=None)
    Worker.objects.bulk_update([w for w, _b in updated], [*FIELDS, "is_active"], batch_size=1000)
    Worker.objects.bulk_create(created, batch_size=1000)
    if created and created[0].pk is None:  # SQLite before 3.35 returns no ids: read them back
        ids = dict(
            Worker.objects.filter(employee_no__in=[w.employee_no for w in created]).values_list(
                "employee_no", "pk"
            )
        )
        for worker in created:
            worker.pk = ids.get(worker.employee_no)
    entries = [
        audit_entry(actor=actor, action="create", obj=w, unit_path=w.unit.path, after=snapshot(w, FIELDS))
        for w in created
    ]
    entries += [
        audit_entry(
            actor=actor,
            action="update",
            obj=w,
            unit_path=w.unit.path,
            before=before,
            after=snapshot(w, FIELDS),
        )
        for w, before in updated
    ]
    audit_record_many(entries)
    return ImportResult(created=len(created), updated=len(updated))
