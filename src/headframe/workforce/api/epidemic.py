"""Workforce API: the epidemic register — tests, cases and isolation (the medical role), contact tracing from rosters
and the lamp room (JSON, or a workbook / CSV to save), and daily counts by unit for anyone who may view it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import Query, Router, Status

from headframe.core.dates import FIRST_DAY
from headframe.core.downloads import XLSX_TYPE, attachment
from headframe.org.selectors import unit_get
from headframe.workforce.models import EpidemicCase, EpidemicTest
from headframe.workforce.schemas.epidemic import (
    CaseIn,
    CaseOut,
    CasePatchIn,
    CasesQuery,
    EpidemicCountsOut,
    EpidemicCountsQuery,
    TestIn,
    TestOut,
    TraceExportQuery,
    TraceOut,
    TraceQuery,
)
from headframe.workforce.selectors import epidemic as selectors
from headframe.workforce.services import epidemic as services

router = Router(tags=["workforce"])
MAX_CASES = 500


def test_out(test: EpidemicTest) -> dict:
    return {
        "id": test.pk,
        "employee_no": test.worker.employee_no,
        "full_name": test.worker.full_name,
        "disease": test.disease,
        "tested_on": test.tested_on,
        "method": test.method,
        "result": test.result,
    }


test_out.__test__ = False  # type: ignore[attr-defined]


def case_out(case: EpidemicCase) -> dict:
    return {
        "id": case.pk,
        "employee_no": case.worker.employee_no,
        "full_name": case.worker.full_name,
        "unit": case.worker.unit.code,
        "disease": case.disease,
        "confirmed_on": case.confirmed_on,
        "isolation_from": case.isolation_from,
        "isolation_to": case.isolation_to,
        "status": case.status,
        "note": case.note,
    }


def trace_out(trace: selectors.TraceResult) -> dict:
    return {
        "case": case_out(trace.case),
        "start": trace.start,
        "end": trace.end,
        "days": trace.days,
        "cage_minutes": trace.cage_minutes,
        "index_shifts": trace.index_shifts,
        "index_presences": trace.index_presences,
        "total": len(trace.rows),
        "contacts": [
            {
                "employee_no": r.worker.employee_no,
                "full_name": r.worker.full_name,
                "unit": r.worker.unit.code,
                "contacts": r.contacts,
                "first_contact": r.first_contact,
                "last_contact": r.last_contact,
                "reasons": [
                    {"kind": x.kind, "day": x.day, "shift": x.shift, "place": x.place.code, "at": x.at}
                    for x in r.reasons
                ],
            }
            for r in trace.rows
        ],
    }


@router.post(
    "/epidemic/tests", response={201: TestOut}, summary="Record a test of a worker (the medical role)"
)
def test_record(request, payload: TestIn):
    test = services.test_record(
        actor=request.user,
        employee_no=payload.employee_no,
        tested_on=payload.tested_on,
        result=payload.result,
        disease=payload.disease,
        method=payload.method,
    )
    return Status(201, test_out(test))


test_record.__test__ = False  # type: ignore[attr-defined]


@router.get("/epidemic/cases", response=list[CaseOut], summary="The cases (the medical role), newest first")
def cases(request, query: Query[CasesQuery]):
    unit = unit_get(request.user, query.unit, loc=("query", "unit")) if query.unit else None
    return [case_out(c) for c in selectors.cases_read(request.user, unit, MAX_CASES)]


@router.post(
    "/epidemic/cases", response={201: CaseOut}, summary="Register a confirmed case and its isolation"
)
def case_record(request, payload: CaseIn):
    case = services.case_record(
        actor=request.user,
        employee_no=payload.employee_no,
        disease=payload.disease,
        confirmed_on=payload.confirmed_on,
        isolation_from=payload.isolation_from,
        isolation_to=payload.isolation_to,
        note=payload.note,
    )
    return Status(201, case_out(case))


@router.patch(
    "/epidemic/cases/{case_id}",
    response=CaseOut,
    summary="Change a case's status or the end of its isolation",
)
def case_update(request, case_id: int, payload: CasePatchIn):
    given = payload.dict(exclude_unset=True)
    changes: dict = {"status": given.get("status"), "note": given.get("note")}
    if "isolation_to" in given:
        changes["isolation_to"] = given["isolation_to"]
    return case_out(services.case_update(actor=request.user, case_id=case_id, **changes))


@router.get(
    "/epidemic/cases/{case_id}/trace",
    response=TraceOut,
    summary="Contact tracing: same shift × work position, or same cage, over the window before isolation",
)
def trace(request, case_id: int, query: Query[TraceQuery]):
    result = selectors.contact_trace(request.user, case_id, days=query.days, cage_minutes=query.cage_minutes)
    return trace_out(result)


@router.get(
    "/epidemic/cases/{case_id}/trace/export",
    response={200: None},
    summary="The contact trace as a file to save (?format=xlsx or csv)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The contact trace (?format=xlsx or csv)",
                "content": {
                    t: {"schema": {"type": "string", "format": "binary"}} for t in (XLSX_TYPE, "text/csv")
                },
            }
        }
    },
)
def trace_export(request, case_id: int, query: Query[TraceExportQuery]):
    selectors.check_trace_format(query.format)  # before the trace is read (and audited)
    result = selectors.contact_trace(request.user, case_id, days=query.days, cage_minutes=query.cage_minutes)
    return attachment(*selectors.trace_export(result, query.format))


@router.get(
    "/epidemic/counts",
    response=EpidemicCountsOut,
    summary="Per unit and day: new cases, people isolating, tests (counts only, anyone who may view the unit)",
)
def counts(request, query: Query[EpidemicCountsQuery]):
    end = query.end or timezone.localdate()
    start = query.start or max(end - dt.timedelta(days=13), FIRST_DAY)
    c = selectors.epidemic_counts(request.user, query.unit, start, end)

    def day_out(day, cell) -> dict:
        return {
            "day": day,
            "new_cases": cell.new_cases,
            "isolating": cell.isolating,
            "tests": cell.tests,
            "positive": cell.positive,
        }

    empty = selectors.DayCount()
    return {
        "unit": c.root.code,
        "start": c.start,
        "end": c.end,
        "new_cases": c.new_cases,
        "isolating_now": c.isolating_now,
        "units": [
            {
                "unit": u.code,
                "name": u.name,
                "days": [day_out(d, c.cells.get((u.code, d), empty)) for d in c.days],
            }
            for u in c.units
        ],
        "totals": [day_out(d, c.totals[d]) for d in c.days],
    }
