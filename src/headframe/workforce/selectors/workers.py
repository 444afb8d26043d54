"""Reads of workers and their certificates, scoped by what the caller may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.workforce.models import Certificate, Course, Worker

MAX_WINDOW_DAYS = 3660  # ten years: any longer window shows the same certificates


def workers_visible(user, perm: str = Perm.VIEW) -> QuerySet[Worker]:
    """The workers of the units where the user holds `perm` (another company's people never show)."""
    return Worker.objects.filter(scope_for(user).q(perm, "unit__path"))


@dataclass(frozen=True)
class CertificateRow:
    worker: Worker
    employee_no: str
    full_name: str
    unit: Unit
    course: Course
    passed_on: dt.date
    expires_on: dt.date
    days_left: int  # negative: lapsed that many days ago
    lapsed: bool


def certificates_expiring(
    user, within_days: int = 90, *, today: dt.date | None = None
) -> list[CertificateRow]:
    """Each visible active worker's latest certificate of a course that expires within `within_days`
    (0–3660) from today, or has already lapsed (and was not renewed); soonest first. One query."""
    today = today or timezone.localdate()
    within_days = max(0, min(int(within_days), MAX_WINDOW_DAYS))  # no date overflow from a typed number
    newer = Certificate.objects.filter(
        worker=OuterRef("worker"), course=OuterRef("course"), passed_on__gt=OuterRef("passed_on")
    )
    rows = (
        Certificate.objects.filter(
            scope_for(user).q(Perm.VIEW, "worker__unit__path"),
            worker__is_active=True,
            expires_on__isnull=False,
            expires_on__lte=today + dt.timedelta(days=within_days),
        )
        .exclude(Exists(newer))
        .select_related("worker", "worker__unit", "course")
        .order_by("expires_on", "worker__employee_no", "course__code")
    )
    return [
        CertificateRow(
            worker=c.worker,
            employee_no=c.worker.employee_no,
            full_name=c.worker.full_name,
            unit=c.worker.unit,
            course=c.course,
            passed_on=c.passed_on,
            expires_on=c.expires_on,
            days_left=(c.expires_on - today).days,
            lapsed=c.expires_on < today,
        )
        for c in rows
        if c.expires_on is not None
    ]
