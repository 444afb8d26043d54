"""Workforce API: the training matrix of a unit and the certificates' import."""

from __future__ import annotations

from ninja import File, Query, Router, Status, UploadedFile

from headframe.core.spreadsheets import MAX_UPLOAD_BYTES
from headframe.workforce.schemas.training import (
    CertificateIn,
    CertificateOut,
    CertificatesImportOut,
    TrainingMatrixOut,
    TrainingMatrixQuery,
)
from headframe.workforce.selectors.training import TrainingMatrix, training_matrix
from headframe.workforce.services.training import certificate_record, certificates_import

router = Router(tags=["workforce"])


def matrix_out(matrix: TrainingMatrix, *, offset: int = 0, limit: int | None = None) -> dict:
    rows = matrix.rows[offset : None if limit is None else offset + limit]
    return {
        "unit": matrix.unit.code,
        "on": matrix.on,
        "coverage": float(matrix.coverage) if matrix.coverage is not None else None,
        "total_rows": len(matrix.rows),
        "courses": [
            {
                "code": c.code,
                "name": c.name,
                "validity_months": c.validity_months,
                "required_underground": c.required_underground,
                "required_trades": list(c.required_trades or []),
            }
            for c in matrix.courses
        ],
        "totals": [
            {
                "course": t.course.code,
                "valid": t.valid,
                "expiring": t.expiring,
                "expired": t.expired,
                "missing": t.missing,
            }
            for t in matrix.totals
        ],
        "rows": [
            {
                "employee_no": r.worker.employee_no,
                "full_name": r.worker.full_name,
                "unit": r.worker.unit.code,
                "trade": r.worker.trade,
                "underground": r.underground,
                "covered": r.covered,
                "cells": [
                    {"course": c.code, "state": cell.state, "until": cell.until, "needed": cell.needed}
                    for c, cell in zip(matrix.courses, r.cells, strict=True)
                ],
            }
            for r in rows
        ],
    }


@router.get(
    "/training/matrix",
    response=TrainingMatrixOut,
    summary="The training matrix of a unit: its active workers against every course, with totals and coverage",
)
def matrix(request, filters: Query[TrainingMatrixQuery]):
    result = training_matrix(request.user, filters.unit, on=filters.on)
    return matrix_out(result, offset=filters.offset, limit=filters.limit)


@router.post(
    "/certificates/import",
    response=CertificatesImportOut,
    summary="Record training results from a workbook (CSV or XLSX; all rows or none, every bad cell named)",
)
def import_certificates(request, file: File[UploadedFile]):
    content = file.read(MAX_UPLOAD_BYTES + 1)
    result = certificates_import(actor=request.user, content=content, filename=file.name or "")
    return {"created": result.created, "updated": result.updated}


@router.post(
    "/certificates",
    response={201: CertificateOut},
    summary="Record one training result (the same worker, course and day again updates the expiry)",
)
def record_certificate(request, payload: CertificateIn):
    certificate = certificate_record(
        actor=request.user,
        employee_no=payload.employee_no,
        course_code=payload.course,
        passed_on=payload.passed_on,
        expires_on=payload.expires_on,
    )
    return Status(
        201,
        {
            "employee_no": certificate.worker.employee_no,
            "course": certificate.course.code,
            "passed_on": certificate.passed_on,
            "expires_on": certificate.expires_on,
        },
    )
