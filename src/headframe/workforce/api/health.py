"""Workforce API: medical examinations and occupational disease screening (individual rows: the medical role only,
every read audited), counts by unit for anyone who may view it, and a worker's own data export."""

from __future__ import annotations

from ninja import File, Query, Router, Status, UploadedFile

from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.workforce.schemas.health import (
    ExamIn,
    ExamOut,
    ExamsImportOut,
    ExamsOut,
    ExamsQuery,
    HealthCountsOut,
    HealthCountsQuery,
    WorkerExportOut,
)
from headframe.workforce.selectors import health as selectors
from headframe.workforce.services import health as services

router = Router(tags=["workforce"])


@router.get(
    "/health/exams",
    response=ExamsOut,
    summary="A worker's medical examinations (the medical role only; every read is audited)",
)
def exams(request, query: Query[ExamsQuery]):
    rows = selectors.exams_of(request.user, query.employee_no, loc=("query", "employee_no"))
    worker = selectors.worker_for(request.user, query.employee_no, "medical", loc=("query", "employee_no"))
    return {
        "employee_no": worker.employee_no,
        "full_name": worker.full_name,
        "unit": worker.unit.code,
        "health_class": worker.health_class,
        "exams": [selectors.exam_dict(e) for e in rows],
    }


@router.post(
    "/health/exams",
    response={201: ExamOut},
    summary="Record a medical examination (the medical role); its health class becomes the worker's when latest",
)
def exam_record(request, payload: ExamIn):
    exam = services.exam_record(
        actor=request.user,
        employee_no=payload.employee_no,
        examined_on=payload.examined_on,
        kind=payload.kind,
        health_class=payload.health_class,
        pneumoconiosis=payload.pneumoconiosis,
        findings=payload.findings,
        next_due=payload.next_due,
    )
    return Status(201, selectors.exam_dict(exam))


@router.post(
    "/health/exams/import",
    response=ExamsImportOut,
    summary="Record examinations from a CSV or XLSX workbook (the medical role; all rows or none, every bad cell named)",
)
def exams_import(request, file: File[UploadedFile]):
    content = file.read(MAX_UPLOAD_BYTES + 1)  # one byte past the limit at most: the service answers 413
    result = services.exams_import(actor=request.user, content=content, filename=file.name or "")
    return {"created": result.created, "classes_changed": result.classes_changed}


@router.get(
    "/health/counts",
    response=HealthCountsOut,
    summary="Workers by health class, exams overdue, pneumoconiosis: counts only, for anyone who may view the unit",
)
def counts(request, query: Query[HealthCountsQuery]):
    c = selectors.health_counts(request.user, query.unit)
    return {
        "unit": c.unit.code,
        "workers": c.workers,
        "by_class": {str(k): v for k, v in c.by_class.items()},
        "not_underground": c.not_underground,
        "examined": c.examined,
        "overdue": c.overdue,
        "pneumoconiosis_suspected": c.suspected,
        "pneumoconiosis_confirmed": c.confirmed,
    }


@router.get(
    "/workers/{employee_no}/export",
    response=WorkerExportOut,
    summary="Everything stored about a worker, for that worker (workforce or medical role; health records: medical)",
)
def worker_export(request, employee_no: str):
    return selectors.export_dict(selectors.worker_export(request.user, employee_no))
