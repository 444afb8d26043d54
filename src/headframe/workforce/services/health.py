"""Recording medical examinations (the medical role only). The latest examination's health class becomes the
worker's, which the lamp room reads (classes IV–VI may not go underground). The audit row says that an examination
was recorded and the class it gave, never the findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.audit import audit_entry, audit_record, audit_record_many
from headframe.core.dates import check_day, day_in_range
from headframe.core.errors import Conflict, ErrorItem, ValidationFailed
from headframe.core.spreadsheets import check_cell
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import ExamKind, MedicalExam, Pneumoconiosis, Worker
from headframe.workforce.selectors.health import worker_for
from headframe.workforce.services._common import actor_user
from headframe.workforce.services._sheets import cell_date, cell_text, sheet_rows

MAX_FINDINGS = 4000


def _checked(
    *,
    examined_on: dt.date,
    kind: str,
    health_class: int,
    pneumoconiosis: str,
    findings: str,
    next_due: dt.date | None,
    today: dt.date,
) -> list[ErrorItem]:
    errors: list[ErrorItem] = []
    for name, day in (("examined_on", examined_on), ("next_due", next_due)):
        check_day(day, loc=("body", name))
    if examined_on > today:
        errors.append(
            ErrorItem(
                ("body", "examined_on"), type="future_day", key="future_day.day", params={"day": examined_on}
            )
        )
    if kind not in ExamKind.values:
        errors.append(
            ErrorItem(
                ("body", "kind"),
                type="enum",
                key="enum.exam_kind",
                params={"value": kind, "choices": ", ".join(ExamKind.values)},
            )
        )
    if not isinstance(health_class, int) or not 1 <= health_class <= 6:
        errors.append(
            ErrorItem(
                ("body", "health_class"),
                type="range",
                key="range.health_class",
                params={"value": health_class},
            )
        )
    if pneumoconiosis not in Pneumoconiosis.values:
        errors.append(
            ErrorItem(
                ("body", "pneumoconiosis"),
                type="enum",
                key="enum.pneumoconiosis",
                params={"value": pneumoconiosis, "choices": ", ".join(v for v in Pneumoconiosis.values if v)},
            )
        )
    if len(findings) > MAX_FINDINGS:
        errors.append(
            ErrorItem(
                ("body", "findings"),
                type="too_long",
                key="too_long.cell",
                params={"column": _("Examination findings"), "max": MAX_FINDINGS},
            )
        )
    if next_due is not None and next_due <= examined_on:
        errors.append(
            ErrorItem(
                ("body", "next_due"),
                type="period_order",
                key="period_order.next_due",
                params={"next_due": next_due, "examined_on": examined_on},
            )
        )
    return errors


@transaction.atomic
def exam_record(
    *,
    actor,
    employee_no: str,
    examined_on: dt.date,
    kind: str = ExamKind.PERIODIC,
    health_class: int,
    pneumoconiosis: str = "",
    findings: str = "",
    next_due: dt.date | None = None,
) -> MedicalExam:
    """Record an examination of a worker: the medical role on the worker's unit (404 when the worker is not
    visible, 403 without it). Not in the future; one per worker, day and kind (409). When it is the worker's latest
    examination, its health class becomes the worker's."""
    worker = worker_for(actor, employee_no, Perm.MEDICAL, loc=("body", "employee_no"))
    findings = (findings or "").strip()
    pneumoconiosis = (pneumoconiosis or "").strip()
    errors = _checked(
        examined_on=examined_on,
        kind=kind,
        health_class=health_class,
        pneumoconiosis=pneumoconiosis,
        findings=findings,
        next_due=next_due,
        today=timezone.localdate(),
    )
    if errors:
        raise ValidationFailed(items=errors)
    if MedicalExam.objects.filter(worker=worker, examined_on=examined_on, kind=kind).exists():
        raise Conflict(
            loc=("body", "examined_on"),
            type="duplicate_exam",
            key="duplicate_exam.day",
            params={"worker": worker.employee_no, "day": examined_on},
        )
    exam = MedicalExam(
        worker=worker,
        examined_on=examined_on,
        kind=kind,
        health_class=health_class,
        pneumoconiosis=pneumoconiosis,
        findings=findings,
        next_due=next_due,
        recorded_by=actor_user(actor),
    )
    exam.full_clean()
    exam.save()
    audit_record(
        actor=actor,
        action="create",
        obj=exam,
        unit_path=worker.unit.path,
        object_repr=f"{worker.employee_no} {exam.kind} {exam.examined_on:%d/%m/%Y}",
        after={
            "worker": worker.employee_no,
            "examined_on": examined_on.isoformat(),
            "health_class": health_class,
        },
    )
    newer = MedicalExam.objects.filter(worker=worker, examined_on__gt=examined_on).exists()
    if not newer and worker.health_class != health_class:
        before = worker.health_class
        worker.health_class = health_class
        worker.save(update_fields=["health_class"])
        audit_record(
            actor=actor,
            action="update",
            obj=worker,
            unit_path=worker.unit.path,
            before={"health_class": before},
            after={"health_class": health_class},
        )
    return exam


# --- the examinations' import (CSV or XLSX from the clinic): all rows or none, every bad cell named ----------

IMPORT_COLUMNS = (
    "employee_no",
    "examined_on",
    "kind",
    "health_class",
    "pneumoconiosis",
    "findings",
    "next_due",
)
IMPORT_REQUIRED = ("employee_no", "examined_on", "health_class")
ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6}


@dataclass(frozen=True)
class ExamImportResult:
    created: int
    classes_changed: int


class _ExamReader:
    """Reads the rows into examinations, collecting every bad cell at ("row", n, column)."""

    def __init__(self, actor, header: list[Any]) -> None:
        self.actor = actor
        self.scope = scope_for(actor)
        self.errors: list[ErrorItem] = []
        self.columns: dict[str, int] = {}
        for index, cell in enumerate(header):
            name = cell_text(cell).lower()
            if name and name not in IMPORT_COLUMNS:
                self.errors.append(
                    ErrorItem(
                        ("header", index + 1),
                        type="unknown_column",
                        key="unknown_column.worker",
                        params={"column": name},
                    )
                )
            elif name:
                self.columns.setdefault(name, index)
        for name in IMPORT_REQUIRED:
            if name not in self.columns:
                self.errors.append(
                    ErrorItem(
                        ("header", name),
                        type="missing_column",
                        key="missing_column.named",
                        params={"column": name},
                    )
                )

    def cell(self, row: list[Any], column: str, number: int) -> Any:
        index = self.columns.get(column)
        value = row[index] if index is not None and index < len(row) else None
        check_cell(value, where=f"row {number}, {column}", loc=("row", number, column))
        return value

    def bad(self, number: int, where: str, type: str, key: str, **params: Any) -> None:
        self.errors.append(ErrorItem(("row", number, where), type=type, key=key, params=params))

    def worker(self, number: int, employee_no: str, workers: dict[str, Worker]) -> Worker | None:
        worker = workers.get(employee_no)
        if worker is None or not self.scope.allows(Perm.VIEW, worker.unit.path):
            self.bad(number, "employee_no", "unknown_worker", "unknown_worker.named", employee_no=employee_no)
            return None
        if not self.scope.allows(Perm.MEDICAL, worker.unit.path):
            self.bad(
                number, "employee_no", "permission_denied", "permission_denied.medical", unit=worker.unit.code
            )
            return None
        return worker

    def read(
        self, row: list[Any], number: int, workers: dict[str, Worker], today: dt.date
    ) -> MedicalExam | None:
        before = len(self.errors)
        employee_no = cell_text(self.cell(row, "employee_no", number))
        worker = self.worker(number, employee_no, workers)
        days: dict[str, dt.date | None] = {}
        for column in ("examined_on", "next_due"):
            raw = self.cell(row, column, number)
            days[column] = cell_date(raw) if cell_text(raw) else None
            if cell_text(raw) and (days[column] is None or not day_in_range(days[column])):
                self.bad(number, column, "bad_date", "bad_date.cell", column=column, value=cell_text(raw))
                days[column] = None
        raw_class = cell_text(self.cell(row, "health_class", number))
        health_class = ROMAN.get(raw_class.upper()) or (int(raw_class) if raw_class.isdigit() else 0)
        values = {
            "kind": cell_text(self.cell(row, "kind", number)) or ExamKind.PERIODIC,
            "pneumoconiosis": cell_text(self.cell(row, "pneumoconiosis", number)).lower(),
            "findings": cell_text(self.cell(row, "findings", number)),
        }
        known = days["examined_on"] is not None
        if not known and not any(e.loc == ("row", number, "examined_on") for e in self.errors):
            self.bad(number, "examined_on", "missing", "missing.cell", column="examined_on")
        checked = _checked(
            examined_on=days["examined_on"] or today,  # a bad day is named above: check the rest all the same
            health_class=health_class,
            next_due=days["next_due"] if known else None,
            today=today,
            **values,
        )
        for item in checked:
            self.errors.append(
                ErrorItem(("row", number, item.loc[-1]), type=item.type, key=item.key, params=item.params)
            )
        if worker is None or len(self.errors) > before:
            return None
        return MedicalExam(
            worker=worker,
            examined_on=days["examined_on"],
            health_class=health_class,
            next_due=days["next_due"],
            **values,
        )


@transaction.atomic
def exams_import(*, actor, content: bytes, filename: str) -> ExamImportResult:
    """Record examinations from a CSV or XLSX workbook with the columns employee_no, examined_on, health_class
    (1–6 or I–VI; required), kind, pneumoconiosis, findings, next_due (dates dd/mm/yyyy or ISO). All rows or none:
    every bad cell is an item at ("row", n, column), n counting the header as row 1. Each worker's latest
    examination (in the file or before) gives the worker's health class."""
    rows = sheet_rows(content, filename, what="exams")
    reader = _ExamReader(actor, rows[0])
    if reader.errors:
        raise ValidationFailed(items=reader.errors)
    column = reader.columns["employee_no"]
    numbers = {cell_text(r[column]) for r in rows[1:] if column < len(r)}
    workers = {
        w.employee_no: w for w in Worker.objects.select_related("unit").filter(employee_no__in=numbers)
    }
    today = timezone.localdate()
    exams: list[tuple[int, MedicalExam]] = []
    for number, row in enumerate(rows[1:], start=2):
        exam = reader.read(row, number, workers, today)
        if exam is not None:
            exams.append((number, exam))
    seen: dict[tuple, int] = {}
    existing = set(
        MedicalExam.objects.filter(worker__in=[e.worker for _n, e in exams]).values_list(
            "worker_id", "examined_on", "kind"
        )
    )
    for number, exam in exams:
        key = (exam.worker_id, exam.examined_on, exam.kind)
        if key in seen or key in existing:
            reader.bad(
                number,
                "examined_on",
                "duplicate_exam",
                "duplicate_exam.day",
                worker=exam.worker.employee_no,
                day=exam.examined_on,
            )
        seen.setdefault(key, number)
    if reader.errors:
        raise ValidationFailed(items=reader.errors)
    return _write_exams(actor, [e for _n, e in exams])


def _write_exams(actor, exams: list[MedicalExam]) -> ExamImportResult:
    recorded_by = actor_user(actor)
    for exam in exams:
        exam.recorded_by = recorded_by
    MedicalExam.objects.bulk_create(exams, batch_size=1000)
    if exams and exams[0].pk is None:  # SQLite before 3.35 returns no ids: read them back
        ids = {
            (w, d, k): pk
            for pk, w, d, k in MedicalExam.objects.filter(worker__in=[e.worker for e in exams]).values_list(
                "pk", "worker_id", "examined_on", "kind"
            )
        }
        for exam in exams:
            exam.pk = ids[(exam.worker_id, exam.examined_on, exam.kind)]
    entries = [
        audit_entry(
            actor=actor,
            action="create",
            obj=e,
            unit_path=e.worker.unit.path,
            object_repr=f"{e.worker.employee_no} {e.kind} {e.examined_on:%d/%m/%Y}",
            after={
                "worker": e.worker.employee_no,
                "examined_on": e.examined_on.isoformat(),
                "health_class": e.health_class,
            },
        )
        for e in exams
    ]
    latest = {
        w: c
        for w, c in MedicalExam.objects.filter(worker__in={e.worker_id for e in exams})
        .order_by("worker_id", "examined_on", "pk")
        .values_list("worker_id", "health_class")
    }  # the last of each worker's rows, oldest first, wins
    changed = []
    for worker in {e.worker_id: e.worker for e in exams}.values():
        if latest.get(worker.pk, worker.health_class) != worker.health_class:
            before = worker.health_class
            worker.health_class = latest[worker.pk]
            changed.append(worker)
            entries.append(
                audit_entry(
                    actor=actor,
                    action="update",
                    obj=worker,
                    unit_path=worker.unit.path,
                    before={"health_class": before},
                    after={"health_class": worker.health_class},
                )
            )
    Worker.objects.bulk_update(changed, ["health_class"], batch_size=1000)
    audit_record_many(entries)
    return ExamImportResult(created=len(exams), classes_changed=len(changed))
