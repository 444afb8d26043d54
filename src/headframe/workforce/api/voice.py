"""Workforce API: workers' voice — grievances (kiến nghị) listed, counted, recorded, answered and closed."""

from __future__ import annotations

from django.utils import timezone
from ninja import Query, Router, Status

from headframe.core.selectors import keyset_page
from headframe.workforce.models import Grievance, GrievanceStatus
from headframe.workforce.schemas.voice import (
    GrievanceAnswerIn,
    GrievanceCountsOut,
    GrievanceCountsQuery,
    GrievanceIn,
    GrievanceOut,
    GrievancePageOut,
    GrievanceQuery,
)
from headframe.workforce.selectors.voice import grievance_counts, grievances_visible, may_read_author
from headframe.workforce.services.voice import grievance_answer, grievance_close, grievance_create

router = Router(tags=["workforce"])


def grievance_out(grievance: Grievance, *, author: bool, today=None) -> dict:
    today = today or timezone.localdate()
    worker = grievance.worker if author and not grievance.anonymous else None
    return {
        "id": grievance.pk,
        "unit": grievance.unit.code,
        "category": grievance.category,
        "text": grievance.text,
        "received_on": grievance.received_on,
        "due_on": grievance.due_on,
        "status": grievance.status,
        "overdue": grievance.status == GrievanceStatus.OPEN and grievance.due_on < today,
        "answer": grievance.answer,
        "answered_on": grievance.answered_on,
        "escalation_level": grievance.escalation_level,
        "anonymous": grievance.anonymous,
        "employee_no": worker.employee_no if worker else None,
        "full_name": worker.full_name if worker else None,
    }


@router.get(
    "/grievances", response=GrievancePageOut, summary="Grievances of the units you may see, newest first"
)
def grievances(request, filters: Query[GrievanceQuery]):
    qs = grievances_visible(request.user, filters.unit, status=filters.status, overdue=filters.overdue)
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    return {
        "items": [grievance_out(g, author=may_read_author(request.user, g)) for g in rows],
        "next_cursor": next_cursor,
    }


@router.get(
    "/grievances/counts",
    response=GrievanceCountsOut,
    summary="Counts of grievances by status and category, and the percent answered on time",
)
def counts(request, filters: Query[GrievanceCountsQuery]):
    result = grievance_counts(request.user, filters.unit, start=filters.start, on=filters.on)
    return {
        "open": result.open,
        "overdue": result.overdue,
        "answered": result.answered,
        "closed": result.closed,
        "on_time": float(result.on_time) if result.on_time is not None else None,
        "by_category": result.by_category,
    }


@router.post("/grievances", response={201: GrievanceOut}, summary="Record a grievance raised at a unit")
def create(request, payload: GrievanceIn):
    grievance = grievance_create(
        actor=request.user,
        unit_code=payload.unit,
        text=payload.text,
        category=payload.category,
        received_on=payload.received_on,
        employee_no=payload.employee_no,
        anonymous=payload.anonymous,
    )
    return Status(201, grievance_out(grievance, author=True))


@router.post("/grievances/{grievance_id}/answer", response=GrievanceOut, summary="Answer a grievance")
def answer(request, grievance_id: int, payload: GrievanceAnswerIn):
    grievance = grievance_answer(
        actor=request.user, grievance_id=grievance_id, answer=payload.answer, answered_on=payload.answered_on
    )
    return grievance_out(grievance, author=True)


@router.post("/grievances/{grievance_id}/close", response=GrievanceOut, summary="Close an answered grievance")
def close(request, grievance_id: int):
    return grievance_out(grievance_close(actor=request.user, grievance_id=grievance_id), author=True)
