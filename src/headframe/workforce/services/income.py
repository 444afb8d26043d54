"""Income: the payroll's monthly aggregates per unit (imported from a workbook: how many were paid and the total
paid, never a person's pay) and the planned average income of a unit for a year."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from headframe.core.audit import audit_entry, audit_record, audit_record_many, snapshot
from headframe.core.dates import day_in_range
from headframe.core.errors import ErrorItem, ValidationFailed
from headframe.core.formatting import read_number
from headframe.core.spreadsheets import check_cell
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import IncomePlan, PayrollMonth
from headframe.workforce.services._common import unit_by_code
from headframe.workforce.services._sheets import cell_text, header_columns, sheet_rows

COLUMNS = ("unit", "month", "headcount", "total_income")
# Columns a per-person payroll has: such a workbook is refused whole (only aggregates are ever stored).
PERSONAL = {
    "employee_no",
    "full_name",
    "name",
    "ho_ten",
    "họ tên",
    "mã nhân viên",
    "salary",
    "income",
    "tag_no",
}
FIELDS = ("unit", "month", "headcount", "total_income")
MAX_TOTAL = Decimal("1e19")
MAX_HEADCOUNT = 1_000_000
PAYROLL_KINDS = (UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE, UnitKind.AREA)
DENIED = "permission_denied.workforce"


@dataclass(frozen=True)
class PayrollImportResult:
    created: int
    updated: int


def parse_month(value: Any) -> dt.date | None:
    """mm/yyyy (or m/yyyy, yyyy-mm, a date: its month) → the first day of that month; None when not one."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = cell_text(value)
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{4})", text)
    if match:
        month, year = int(match[1]), int(match[2])
    elif match := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(match[1]), int(match[2])
    else:
        return None
    if not 1 <= month <= 12:
        return None
    day = dt.date(year, month, 1)
    return day if day_in_range(day) else None


def _personal(name: str, index: int) -> ErrorItem | None:
    """A per-person column (name, employee number, salary…): the payroll is taken as aggregates only."""
    if name not in PERSONAL:
        return None
    return ErrorItem(
        ("header", index + 1), type="personal_column", key="personal_column.payroll", params={"column": name}
    )


def _header(row: list[Any]) -> dict[str, int]:
    columns, errors = header_columns(
        row, known=COLUMNS, required=COLUMNS, unknown_key="unknown_column.payroll", refused=_personal
    )
    if errors:
        raise ValidationFailed(items=errors)
    return columns


def _number(value: Any) -> Decimal | None:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return read_number(cell_text(value))


class _Reader:
    def __init__(self, actor, columns: dict[str, int], units: dict[str, Unit]) -> None:
        self.columns, self.units, self.scope = columns, units, scope_for(actor)
        self.errors: list[ErrorItem] = []

    def bad(self, number: int, where: str, type: str, key: str, **params: Any) -> None:
        self.errors.append(ErrorItem(("row", number, where), type=type, key=key, params=params))

    def cell(self, row: list[Any], column: str, number: int) -> Any:
        index = self.columns[column]
        value = row[index] if index < len(row) else None
        check_cell(value, where=f"row {number}, {column}", loc=("row", number, column))
        return value

    def unit(self, row: list[Any], number: int) -> Unit | None:
        code = cell_text(self.cell(row, "unit", number))
        unit = self.units.get(code)
        if not code:
            self.bad(number, "unit", "missing", "missing.cell", column="unit")
        elif unit is None or not self.scope.allows(Perm.VIEW, unit.path):
            self.bad(number, "unit", "unknown_unit", "unknown_unit.named", unit=repr(code))
        elif not self.scope.allows(Perm.WORKFORCE, unit.path):
            self.bad(number, "unit", "permission_denied", DENIED, unit=unit.code)
        elif unit.kind not in PAYROLL_KINDS:
            self.bad(number, "unit", "payroll_unit_kind", "payroll_unit_kind.named", unit=unit.code)
        else:
            return unit
        return None

    def read(self, row: list[Any], number: int) -> dict[str, Any] | None:
        before = len(self.errors)
        unit = self.unit(row, number)
        raw = self.cell(row, "month", number)
        month = parse_month(raw)
        if month is None:
            self.bad(number, "month", "bad_month", "bad_month.value", value=cell_text(raw))
        raw = self.cell(row, "headcount", number)
        headcount = _number(raw)
        if (
            headcount is None
            or headcount != headcount.to_integral_value()
            or not 0 < headcount <= MAX_HEADCOUNT
        ):
            self.bad(number, "headcount", "range", "range.headcount", value=cell_text(raw))
        raw = self.cell(row, "total_income", number)
        total = _number(raw)
        if total is None or total < 0 or total >= MAX_TOTAL or total != total.to_integral_value():
            self.bad(number, "total_income", "range", "range.total_income", value=cell_text(raw))
        if len(self.errors) != before:
            return None
        return {"unit": unit, "month": month, "headcount": int(headcount), "total_income": total}


@transaction.atomic
def payroll_import(*, actor, content: bytes, filename: str) -> PayrollImportResult:
    """Record the payroll's aggregates from a CSV or XLSX workbook with the columns unit (code), month (mm/yyyy),
    headcount (people paid) and total_income (VND, whole): one row per unit and month, updated when it is
    there already. All rows or none: every bad cell is an item at ("row", n, column), the header being row 1.
    A workbook with a per-person column (employee number, name, salary…) is refused whole: only aggregates are
    stored. Needs the workforce permission on every unit."""
    rows = sheet_rows(content, filename, what="payroll")
    columns = _header(rows[0])
    index = columns["unit"]
    codes = {cell_text(row[index]) for row in rows[1:] if index < len(row)}
    reader = _Reader(actor, columns, {u.code: u for u in Unit.objects.filter(code__in=codes)})
    read = [(n, reader.read(row, n)) for n, row in enumerate(rows[1:], start=2)]
    seen: dict[tuple, int] = {}
    for number, values in read:
        if values is None:
            continue
        key = (values["unit"].pk, values["month"])
        if key in seen:
            reader.bad(
                number,
                "month",
                "duplicate",
                "duplicate.payroll",
                unit=values["unit"].code,
                month=f"{values['month']:%m/%Y}",
                row=seen[key],
            )
        seen.setdefault(key, number)
    if reader.errors:
        raise ValidationFailed(items=reader.errors)
    return _write(actor, [values for _n, values in read if values is not None])


def _write(actor, rows: list[dict[str, Any]]) -> PayrollImportResult:
    existing = {
        (p.unit_id, p.month): p
        for p in PayrollMonth.objects.filter(
            unit__in={r["unit"] for r in rows}, month__in={r["month"] for r in rows}
        ).select_related("unit")
    }
    entries, created, updated = [], 0, 0
    for values in rows:
        current = existing.get((values["unit"].pk, values["month"]))
        if current is None:
            payroll = PayrollMonth.objects.create(**values)
            entries.append(
                audit_entry(
                    actor=actor,
                    action="create",
                    obj=payroll,
                    unit_path=payroll.unit.path,
                    after=snapshot(payroll, FIELDS),
                )
            )
            created += 1
        elif (current.headcount, current.total_income) != (values["headcount"], values["total_income"]):
            before = snapshot(current, FIELDS)
            current.headcount, current.total_income = values["headcount"], values["total_income"]
            current.save(update_fields=["headcount", "total_income", "imported_at"])
            entries.append(
                audit_entry(
                    actor=actor,
                    action="update",
                    obj=current,
                    unit_path=current.unit.path,
                    before=before,
                    after=snapshot(current, FIELDS),
                )
            )
            updated += 1
    audit_record_many(entries)
    return PayrollImportResult(created=created, updated=updated)


@transaction.atomic
def income_plan_set(*, actor, unit_code: str, year: int, average_income: Decimal | int) -> IncomePlan:
    """Set the planned average income per worker per month of a unit for a year (VND, whole, > 0). A plan is a
    plan: it needs the planning permission on the unit (Perm.PLAN), as the production plans do."""
    unit = unit_by_code(
        actor, unit_code, Perm.PLAN, loc=("body", "unit"), key="permission_denied.income_plan"
    )
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed(loc=("body", "year"), type="range", key="range.year", params={"value": year})
    try:
        amount = Decimal(str(average_income))
    except InvalidOperation:
        amount = Decimal(-1)
    if (
        not amount.is_finite()
        or amount <= 0
        or amount >= Decimal("1e16")
        or amount != amount.to_integral_value()
    ):
        raise ValidationFailed(
            loc=("body", "average_income"),
            type="range",
            key="range.average_income",
            params={"value": str(average_income)},
        )
    plan = IncomePlan.objects.select_for_update().filter(unit=unit, year=year).first()
    if plan is None:
        plan = IncomePlan.objects.create(unit=unit, year=year, average_income=amount)
        audit_record(actor=actor, action="create", obj=plan, unit_path=unit.path, after=snapshot(plan))
    elif plan.average_income != amount:
        before = snapshot(plan)
        plan.average_income = amount
        plan.save(update_fields=["average_income"])
        audit_record(
            actor=actor, action="update", obj=plan, unit_path=unit.path, before=before, after=snapshot(plan)
        )
    return plan
