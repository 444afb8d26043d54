"""Certificates: the import of training results (CSV or XLSX), all rows or none, every bad cell named."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from headframe.core.audit import audit_entry, audit_record, audit_record_many, snapshot
from headframe.core.dates import check_day, day_in_range
from headframe.core.errors import ErrorItem, NotFound, ValidationFailed
from headframe.core.spreadsheets import check_cell
from headframe.org.roles import Perm
from headframe.workforce.models import Certificate, Course
from headframe.workforce.selectors.workers import workers_visible
from headframe.workforce.services._sheets import cell_date, cell_text, header_columns, sheet_rows

COLUMNS = ("employee_no", "course", "passed_on", "expires_on")
REQUIRED = ("employee_no", "course", "passed_on")
FIELDS = ("worker", "course", "passed_on", "expires_on")
FILE_LOC = ("file",)


@dataclass(frozen=True)
class CertificatesImportResult:
    created: int
    updated: int


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has fewer days): 31/01 + 1 → 28/02."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _header(row: list[Any]) -> dict[str, int]:
    columns, errors = header_columns(
        row, known=COLUMNS, required=REQUIRED, unknown_key="unknown_column.certificate"
    )
    if errors:
        raise ValidationFailed(items=errors)
    return columns


class _Reader:
    def __init__(self, columns: dict[str, int], workers: dict, courses: dict[str, Course]) -> None:
        self.columns, self.workers, self.courses = columns, workers, courses
        self.errors: list[ErrorItem] = []

    def bad(self, number: int, where: str, type: str, key: str, **params: Any) -> None:
        self.errors.append(ErrorItem(("row", number, where), type=type, key=key, params=params))

    def cell(self, row: list[Any], column: str, number: int) -> Any:
        index = self.columns.get(column)
        value = row[index] if index is not None and index < len(row) else None
        check_cell(value, where=f"row {number}, {column}", loc=("row", number, column))
        return value

    def day(self, row: list[Any], column: str, number: int) -> dt.date | None:
        raw = self.cell(row, column, number)
        if not cell_text(raw):
            if column in REQUIRED:
                self.bad(number, column, "missing", "missing.cell", column=column)
            return None
        day = cell_date(raw)
        if day is None or not day_in_range(day):
            self.bad(number, column, "bad_date", "bad_date.cell", column=column, value=cell_text(raw))
            return None
        return day

    def read(self, row: list[Any], number: int) -> dict[str, Any] | None:
        before = len(self.errors)
        employee_no = cell_text(self.cell(row, "employee_no", number))
        worker = self.workers.get(employee_no)
        if not employee_no:
            self.bad(number, "employee_no", "missing", "missing.cell", column="employee_no")
        elif worker is None:  # unknown, or a worker outside the actor's scope: not revealed
            self.bad(number, "employee_no", "unknown_worker", "unknown_worker.row", employee_no=employee_no)
        code = cell_text(self.cell(row, "course", number))
        course = self.courses.get(code.upper())
        if not code:
            self.bad(number, "course", "missing", "missing.cell", column="course")
        elif course is None:
            self.bad(number, "course", "unknown_course", "unknown_course.named", course=code)
        passed_on = self.day(row, "passed_on", number)
        expires_on = self.day(row, "expires_on", number)
        if passed_on and expires_on and expires_on < passed_on:
            self.bad(
                number,
                "expires_on",
                "period_order",
                "period_order.certificate",
                expires=expires_on,
                passed=passed_on,
            )
        if len(self.errors) != before:
            return None
        if expires_on is None and course.validity_months:
            expires_on = add_months(passed_on, course.validity_months)
        return {"worker": worker, "course": course, "passed_on": passed_on, "expires_on": expires_on}


@transaction.atomic
def certificates_import(*, actor, content: bytes, filename: str) -> CertificatesImportResult:
    """Record training results from a CSV or XLSX workbook with the columns employee_no, course (its code),
    passed_on (required), expires_on (dd/mm/yyyy or ISO; empty: passed_on + the course's validity, or for good).
    A row with the same worker, course and day passed updates its expiry. All rows or none: every bad cell is an
    item at ("row", n, column), the header being row 1. Only workers the actor manages (Perm.WORKFORCE) are
    known: anyone else's employee number is refused as unknown."""
    name = (filename or "").lower()
    if not name.endswith((".csv", ".txt", ".xlsx")):
        raise ValidationFailed(
            loc=FILE_LOC,
            type="unsupported_type",
            key="unsupported_type.certificates",
            params={"filename": filename},
        )
    rows = sheet_rows(content, filename, what="certificates")
    columns = _header(rows[0])
    index = columns["employee_no"]
    numbers = {cell_text(row[index]) for row in rows[1:] if index < len(row)}
    workers = {
        w.employee_no: w
        for w in workers_visible(actor, Perm.WORKFORCE).filter(employee_no__in=numbers).select_related("unit")
    }
    reader = _Reader(columns, workers, {c.code.upper(): c for c in Course.objects.all()})
    read: list[tuple[int, dict[str, Any]]] = []
    for number, row in enumerate(rows[1:], start=2):
        values = reader.read(row, number)
        if values is not None:
            read.append((number, values))
    seen: set[tuple] = set()
    for number, values in read:
        key = (values["worker"].pk, values["course"].pk, values["passed_on"])
        if key in seen:
            reader.bad(
                number,
                "passed_on",
                "duplicate",
                "duplicate.certificate",
                employee_no=values["worker"].employee_no,
                course=values["course"].code,
                passed=values["passed_on"],
            )
        seen.add(key)
    if reader.errors:
        raise ValidationFailed(items=reader.errors)
    return _write(actor, [values for _n, values in read])


def _write(actor, rows: list[dict[str, Any]]) -> CertificatesImportResult:
    existing = {
        (c.worker_id, c.course_id, c.passed_on): c
        for c in Certificate.objects.filter(worker__in={r["worker"] for r in rows}).select_related(
            "worker", "course"
        )
    }
    created, updated, entries = [], [], []
    for values in rows:
        current = existing.get((values["worker"].pk, values["course"].pk, values["passed_on"]))
        if current is None:
            created.append(Certificate(**values))
        elif current.expires_on != values["expires_on"]:
            before = snapshot(current, FIELDS)
            current.expires_on = values["expires_on"]
            updated.append(current)
            entries.append(
                audit_entry(
                    actor=actor,
                    action="update",
                    obj=current,
                    unit_path=current.worker.unit.path,
                    before=before,
                    after=snapshot(current, FIELDS),
                )
            )
    Certificate.objects.bulk_update(updated, ["expires_on"], batch_size=1000)
    Certificate.objects.bulk_create(created, batch_size=1000)
    saved = Certificate.objects.filter(
        worker__in={c.worker for c in created}, passed_on__in={c.passed_on for c in created}
    ).select_related("worker__unit", "course")
    wanted = {(c.worker_id, c.course_id, c.passed_on) for c in created}
    entries += [
        audit_entry(
            actor=actor,
            action="create",
            obj=c,
            unit_path=c.worker.unit.path,
            after=snapshot(c, FIELDS),
        )
        for c in saved
        if (c.worker_id, c.course_id, c.passed_on) in wanted
    ]
    audit_record_many(entries)
    return CertificatesImportResult(created=len(created), updated=len(updated))


@transaction.atomic
def certificate_record(
    *, actor, employee_no: str, course_code: str, passed_on: dt.date, expires_on: dt.date | None = None
) -> Certificate:
    """Record one training result: the worker (one the actor manages, 404 otherwise) passed the course on
    `passed_on`; valid until `expires_on` (by default passed_on + the course's validity, or for good). The same
    worker, course and day again updates the expiry."""
    worker = (
        workers_visible(actor, Perm.WORKFORCE)
        .select_related("unit")
        .filter(employee_no=(employee_no or "").strip())
        .first()
    )
    if worker is None:
        raise NotFound(
            loc=("body", "employee_no"),
            type="unknown_worker",
            key="unknown_worker.named",
            params={"employee_no": employee_no},
        )
    course = Course.objects.filter(code__iexact=(course_code or "").strip()).first()
    if course is None:
        raise NotFound(
            loc=("body", "course"),
            type="unknown_course",
            key="unknown_course.named",
            params={"course": course_code},
        )
    check_day(passed_on, loc=("body", "passed_on"))
    if expires_on is not None:
        check_day(expires_on, loc=("body", "expires_on"))
        if expires_on < passed_on:
            raise ValidationFailed(
                loc=("body", "expires_on"),
                type="period_order",
                key="period_order.certificate",
                params={"expires": expires_on, "passed": passed_on},
            )
    elif course.validity_months:
        expires_on = add_months(passed_on, course.validity_months)
    certificate = (
        Certificate.objects.select_for_update()
        .filter(worker=worker, course=course, passed_on=passed_on)
        .first()
    )
    if certificate is None:
        certificate = Certificate.objects.create(
            worker=worker, course=course, passed_on=passed_on, expires_on=expires_on
        )
        audit_record(
            actor=actor,
            action="create",
            obj=certificate,
            unit_path=worker.unit.path,
            after=snapshot(certificate, FIELDS),
        )
    elif certificate.expires_on != expires_on:
        before = snapshot(certificate, FIELDS)
        certificate.expires_on = expires_on
        certificate.save(update_fields=["expires_on"])
        audit_record(
            actor=actor,
            action="update",
            obj=certificate,
            unit_path=worker.unit.path,
            before=before,
            after=snapshot(certificate, FIELDS),
        )
    return certificate
