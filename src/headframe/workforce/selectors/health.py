"""Reads of health records. A person's examinations: the medical role only, and every read is written to the audit
log (who read whose record, when). Counts by unit (health classes, exams overdue, pneumoconiosis): anyone who may
view the unit — numbers, never names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.errors import NotFound, PermissionDenied
from headframe.core.models import AuditEntry
from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.workforce.models import MedicalExam, Pneumoconiosis, Worker

DUE_WITHIN_DAYS = 30  # the medical page lists the exams due within this many days (and those overdue)


def worker_for(user, employee_no: str, perm: str, *, loc: tuple = ("path", "employee_no")) -> Worker:
    """The worker with this employee number, if `user` may see the worker's unit (404 otherwise, exactly as an
    unknown number: another company's people are not revealed); 403 when visible without `perm`."""
    number = (employee_no or "").strip()
    worker = Worker.objects.select_related("unit").filter(employee_no=number).first() if number else None
    scope = scope_for(user)
    if worker is None or not scope.allows(Perm.VIEW, worker.unit.path):
        raise NotFound(
            loc=loc, type="unknown_worker", key="unknown_worker.named", params={"employee_no": employee_no}
        )
    if not scope.allows(perm, worker.unit.path):
        key = "permission_denied.medical" if perm == Perm.MEDICAL else "permission_denied.worker_export"
        raise PermissionDenied(loc=loc, key=key, params={"unit": worker.unit.code})
    return worker


def audit_read(user, obj, *, unit_path: str, what: str, **facts) -> None:
    """One audit row: `user` read this record (an exam list, a case, a trace). Facts are counts and kinds, never
    the health data itself."""
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditEntry.Action.READ,
            obj=obj,
            unit_path=unit_path,
            after={"read": what, **facts},
        )


def exams_of(user, employee_no: str, *, loc: tuple = ("path", "employee_no")) -> list[MedicalExam]:
    """A worker's examinations, newest first: the medical role on the worker's unit only; the read is audited."""
    worker = worker_for(user, employee_no, Perm.MEDICAL, loc=loc)
    exams = list(
        MedicalExam.objects.filter(worker=worker)
        .select_related("worker", "recorded_by")
        .order_by("-examined_on")
    )
    audit_read(user, worker, unit_path=worker.unit.path, what="medical_exams", exams=len(exams))
    return exams


@dataclass(frozen=True)
class HealthCounts:
    unit: Unit
    workers: int
    by_class: dict[int, int]  # health class 1–6 → active workers
    examined: int  # workers with at least one examination
    overdue: int  # workers whose latest examination's next one is past due
    suspected: int  # latest screening: pneumoconiosis suspected
    confirmed: int  # latest screening: pneumoconiosis confirmed
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def not_underground(self) -> int:
        return sum(n for c, n in self.by_class.items() if c >= 4)


def _latest(field_name: str, **filters) -> Subquery:
    return Subquery(
        MedicalExam.objects.filter(worker=OuterRef("pk"), **filters)
        .order_by("-examined_on", "-pk")
        .values(field_name)[:1]
    )


def health_counts(user, unit_code: str, *, today: dt.date | None = None) -> HealthCounts:
    """Counts of the unit's active workers (and those of the units under it) for anyone who may view it."""
    unit = unit_get(user, unit_code, loc=("query", "unit"))
    today = today or timezone.localdate()
    workers = Worker.objects.filter(unit__path__startswith=unit.path, is_active=True)
    by_class = {c: 0 for c in range(1, 7)}
    for health_class, n in workers.values_list("health_class").annotate(n=Count("pk")).order_by():
        by_class[health_class] = n
    annotated = workers.annotate(
        due=_latest("next_due"),
        screening=_latest("pneumoconiosis", pneumoconiosis__gt=""),
        last=_latest("examined_on"),
    )
    rows = list(annotated.values_list("due", "screening", "last"))
    return HealthCounts(
        unit=unit,
        workers=sum(by_class.values()),
        by_class=by_class,
        examined=sum(1 for _d, _s, last in rows if last is not None),
        overdue=sum(1 for due, _s, _l in rows if due is not None and due < today),
        suspected=sum(1 for _d, s, _l in rows if s == Pneumoconiosis.SUSPECTED),
        confirmed=sum(1 for _d, s, _l in rows if s == Pneumoconiosis.CONFIRMED),
        today=today,
    )


@dataclass(frozen=True)
class DueRow:
    worker: Worker
    last_exam: dt.date | None
    next_due: dt.date | None
    overdue: bool


def exams_due(
    user, unit: Unit | None = None, *, within_days: int = DUE_WITHIN_DAYS, today: dt.date | None = None
) -> list[DueRow]:
    """For the medical role: the active workers (where the user holds MEDICAL, under `unit`) whose next
    examination falls due within `within_days` or is past, and those never examined; most overdue first. Dates
    only, no findings."""
    today = today or timezone.localdate()
    qs: QuerySet[Worker] = Worker.objects.filter(
        scope_for(user).q(Perm.MEDICAL, "unit__path"), is_active=True
    ).select_related("unit")
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    qs = qs.annotate(due=_latest("next_due"), last=_latest("examined_on"))
    limit = today + dt.timedelta(days=max(0, min(int(within_days), 366)))
    rows = [
        DueRow(worker=w, last_exam=w.last, next_due=w.due, overdue=w.due is not None and w.due < today)
        for w in qs
        if w.last is None or (w.due is not None and w.due <= limit)
    ]
    rows.sort(key=lambda r: (r.next_due or dt.date.min, r.worker.employee_no))
    return rows


# --- a worker's own data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerExport:
    worker: Worker
    certificates: list
    rosters: list
    presences: list
    grievances: list  # the worker's own (never the anonymous ones: no worker is stored on those)
    medical_exams: list[MedicalExam] | None  # only for the medical role (the read is audited)
    generated_at: dt.datetime


def worker_export(user, employee_no: str) -> WorkerExport:
    """Everything stored about one worker, for that worker: needs the workforce or the medical role on the
    worker's unit (404 when the worker is not visible, 403 otherwise). Health records only for the medical role."""
    worker = worker_for(user, employee_no, Perm.VIEW)
    scope = scope_for(user)
    medical = scope.allows(Perm.MEDICAL, worker.unit.path)
    if not medical and not scope.allows(Perm.WORKFORCE, worker.unit.path):
        raise PermissionDenied(
            loc=("path", "employee_no"),
            key="permission_denied.worker_export",
            params={"unit": worker.unit.code},
        )
    exams = (
        list(MedicalExam.objects.filter(worker=worker).select_related("recorded_by").order_by("-examined_on"))
        if medical
        else None
    )
    if exams is not None:
        audit_read(user, worker, unit_path=worker.unit.path, what="worker_export", exams=len(exams))
    return WorkerExport(
        worker=worker,
        certificates=list(
            worker.certificates.select_related("course").order_by("course__code", "-passed_on")
        ),
        rosters=list(worker.roster_entries.select_related("position").order_by("-day", "shift")),
        presences=list(worker.presences.select_related("site").order_by("-checked_in_at")),
        grievances=list(
            worker.grievances.filter(anonymous=False).select_related("unit").order_by("-received_on")
        ),
        medical_exams=exams,
        generated_at=timezone.now(),
    )


def exam_dict(exam: MedicalExam) -> dict:
    return {
        "id": exam.pk,
        "employee_no": exam.worker.employee_no,
        "examined_on": exam.examined_on,
        "kind": exam.kind,
        "health_class": exam.health_class,
        "pneumoconiosis": exam.pneumoconiosis,
        "findings": exam.findings,
        "next_due": exam.next_due,
        "recorded_by": exam.recorded_by.get_username() if exam.recorded_by else None,
        "recorded_at": exam.recorded_at,
    }


def export_dict(data: WorkerExport) -> dict:
    w = data.worker
    return {
        "generated_at": data.generated_at,
        "worker": {
            "employee_no": w.employee_no,
            "full_name": w.full_name,
            "unit": w.unit.code,
            "team": w.team,
            "trade": w.trade,
            "skill_grade": w.skill_grade,
            "hire_date": w.hire_date,
            "health_class": w.health_class,
            "tag_no": w.tag_no,
            "is_active": w.is_active,
        },
        "certificates": [
            {
                "course": c.course.code,
                "course_name": c.course.name,
                "passed_on": c.passed_on,
                "expires_on": c.expires_on,
            }
            for c in data.certificates
        ],
        "rosters": [{"day": r.day, "shift": r.shift, "position": r.position.code} for r in data.rosters],
        "presences": [
            {"site": p.site.code, "checked_in_at": p.checked_in_at, "checked_out_at": p.checked_out_at}
            for p in data.presences
        ],
        "grievances": [
            {
                "unit": g.unit.code,
                "category": g.category,
                "text": g.text,
                "received_on": g.received_on,
                "status": g.status,
                "answer": g.answer,
            }
            for g in data.grievances
        ],
        "medical_exams": None if data.medical_exams is None else [exam_dict(e) for e in data.medical_exams],
    }
