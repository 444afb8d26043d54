"""The epidemic register's writes: tests, cases and their isolation. Individual health data: the medical role on
the worker's unit only. Audit rows name the disease and the days, never a result or a note."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.audit import audit_record
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, ValidationFailed
from headframe.org.roles import Perm
from headframe.workforce.models import CaseStatus, EpidemicCase, EpidemicTest, TestResult
from headframe.workforce.selectors.epidemic import case_for
from headframe.workforce.selectors.health import worker_for
from headframe.workforce.services._common import actor_user

MAX_NOTE = 2000
MAX_DISEASE = 60
METHODS = ("rapid", "pcr", "other")


def _future(loc: tuple, day: dt.date | None, today: dt.date) -> list[ErrorItem]:
    check_day(day, loc=loc)
    if day is not None and day > today:
        return [ErrorItem(loc, type="future_day", key="future_day.day", params={"day": day})]
    return []


def _disease(disease: str) -> tuple[str, list[ErrorItem]]:
    text = (disease or "").strip()
    if not text:
        return text, [
            ErrorItem(
                ("body", "disease"), type="missing", key="missing.cell", params={"column": _("disease")}
            )
        ]
    if len(text) > MAX_DISEASE:
        return text, [
            ErrorItem(
                ("body", "disease"),
                type="too_long",
                key="too_long.cell",
                params={"column": _("disease"), "max": MAX_DISEASE},
            )
        ]
    return text, []


@transaction.atomic
def test_record(
    *,
    actor,
    employee_no: str,
    tested_on: dt.date,
    result: str,
    disease: str = "COVID-19",
    method: str = "rapid",
) -> EpidemicTest:
    """Record a test of a worker (rapid or PCR) and its result. Not in the future."""
    worker = worker_for(actor, employee_no, Perm.MEDICAL, loc=("body", "employee_no"))
    disease, errors = _disease(disease)
    errors += _future(("body", "tested_on"), tested_on, timezone.localdate())
    if result not in TestResult.values:
        errors.append(
            ErrorItem(
                ("body", "result"),
                type="enum",
                key="enum.test_result",
                params={"value": result, "choices": ", ".join(TestResult.values)},
            )
        )
    if method not in METHODS:
        errors.append(
            ErrorItem(
                ("body", "method"),
                type="enum",
                key="enum.test_method",
                params={"value": method, "choices": ", ".join(METHODS)},
            )
        )
    if errors:
        raise ValidationFailed(items=errors)
    test = EpidemicTest.objects.create(
        worker=worker,
        disease=disease,
        tested_on=tested_on,
        method=method,
        result=result,
        recorded_by=actor_user(actor),
    )
    audit_record(
        actor=actor,
        action="create",
        obj=test,
        unit_path=worker.unit.path,
        object_repr=f"{worker.employee_no} {disease} {tested_on:%d/%m/%Y}",
        after={"worker": worker.employee_no, "disease": disease, "tested_on": tested_on.isoformat()},
    )
    return test


test_record.__test__ = False  # type: ignore[attr-defined]  # a service, not a test pytest should collect


def _order(isolation_from: dt.date, isolation_to: dt.date | None) -> list[ErrorItem]:
    if isolation_to is not None and isolation_to < isolation_from:
        return [
            ErrorItem(
                ("body", "isolation_to"),
                type="period_order",
                key="period_order.isolation",
                params={"start": isolation_from, "end": isolation_to},
            )
        ]
    return []


@transaction.atomic
def case_record(
    *,
    actor,
    employee_no: str,
    disease: str = "COVID-19",
    confirmed_on: dt.date,
    isolation_from: dt.date,
    isolation_to: dt.date | None = None,
    note: str = "",
) -> EpidemicCase:
    """Register a confirmed case and its isolation (until `isolation_to` inclusive; open while unknown). One case
    per worker, disease and day (409)."""
    worker = worker_for(actor, employee_no, Perm.MEDICAL, loc=("body", "employee_no"))
    today = timezone.localdate()
    disease, errors = _disease(disease)
    errors += _future(("body", "confirmed_on"), confirmed_on, today)
    errors += _future(("body", "isolation_from"), isolation_from, today)
    check_day(isolation_to, loc=("body", "isolation_to"))
    errors += _order(isolation_from, isolation_to)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        errors.append(
            ErrorItem(
                ("body", "note"),
                type="too_long",
                key="too_long.cell",
                params={"column": _("note"), "max": MAX_NOTE},
            )
        )
    if errors:
        raise ValidationFailed(items=errors)
    if EpidemicCase.objects.filter(worker=worker, disease=disease, confirmed_on=confirmed_on).exists():
        raise Conflict(
            loc=("body", "confirmed_on"),
            type="duplicate_case",
            key="duplicate_case.day",
            params={"worker": worker.employee_no, "disease": disease, "day": confirmed_on},
        )
    case = EpidemicCase.objects.create(
        worker=worker,
        disease=disease,
        confirmed_on=confirmed_on,
        isolation_from=isolation_from,
        isolation_to=isolation_to,
        note=note,
        recorded_by=actor_user(actor),
    )
    audit_record(
        actor=actor,
        action="create",
        obj=case,
        unit_path=worker.unit.path,
        object_repr=f"{worker.employee_no} {disease} {confirmed_on:%d/%m/%Y}",
        after={
            "worker": worker.employee_no,
            "disease": disease,
            "confirmed_on": confirmed_on.isoformat(),
            "isolation_from": isolation_from.isoformat(),
            "isolation_to": isolation_to.isoformat() if isolation_to else None,
        },
    )
    return case


_UNSET: dt.date | None = dt.date.min  # "not given" for isolation_to (None means: open again)


@transaction.atomic
def case_update(
    *,
    actor,
    case_id: int,
    status: str | None = None,
    isolation_to: dt.date | None = _UNSET,
    note: str | None = None,
) -> EpidemicCase:
    """Change a case's status (isolating, in hospital, recovered) and the end of its isolation. A recovered
    case needs the day its isolation ended."""
    case = case_for(actor, case_id)
    before = {
        "status": case.status,
        "isolation_to": case.isolation_to.isoformat() if case.isolation_to else None,
    }
    errors: list[ErrorItem] = []
    if status is not None and status not in CaseStatus.values:
        errors.append(
            ErrorItem(
                ("body", "status"),
                type="enum",
                key="enum.case_status",
                params={"value": status, "choices": ", ".join(CaseStatus.values)},
            )
        )
    new_to = case.isolation_to if isolation_to is _UNSET else isolation_to
    if isolation_to is not _UNSET:
        check_day(isolation_to, loc=("body", "isolation_to"))
    errors += _order(case.isolation_from, new_to)
    new_status = status or case.status
    if new_status == CaseStatus.RECOVERED and new_to is None:
        errors.append(
            ErrorItem(("body", "isolation_to"), type="missing", key="missing.isolation_to", params={})
        )
    if note is not None and len(note.strip()) > MAX_NOTE:
        errors.append(
            ErrorItem(
                ("body", "note"),
                type="too_long",
                key="too_long.cell",
                params={"column": _("note"), "max": MAX_NOTE},
            )
        )
    if errors:
        raise ValidationFailed(items=errors)
    case.status = new_status
    case.isolation_to = new_to
    if note is not None:
        case.note = note.strip()
    case.full_clean()
    case.save(update_fields=["status", "isolation_to", "note"])
    after = {
        "status": case.status,
        "isolation_to": case.isolation_to.isoformat() if case.isolation_to else None,
    }
    audit_record(
        actor=actor,
        action="update",
        obj=case,
        unit_path=case.worker.unit.path,
        object_repr=f"{case.worker.employee_no} {case.disease} {case.confirmed_on:%d/%m/%Y}",
        before=before,
        after=after,
    )
    return case
