"""Findings: visible ones, one by id, overdue ones with their escalation, critical ones open or closed in a
period, and who may be made responsible."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import ancestor_paths, scope_for
from headframe.safety.models import Finding, FindingStatus, Photo, Severity
from headframe.safety.selectors._common import _allow_at, day_bound


def findings_visible(
    user,
    *,
    unit: Unit | None = None,
    status: str = "",
    severity: str = "",
    overdue_on: dt.date | None = None,
) -> QuerySet:
    """Findings the user may see (under unit, of a status and severity; with overdue_on, only those still open
    with their deadline before that day), by status, deadline and newest first."""
    qs = Finding.objects.filter(scope_for(user).q(Perm.VIEW, "position__path")).select_related(
        "position", "inspection", "item", "verified_by", "campaign"
    )
    if unit is not None:
        qs = qs.filter(position__path__startswith=unit.path)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if overdue_on is not None:
        qs = qs.filter(status=FindingStatus.OPEN, deadline__lt=overdue_on)
    return qs.order_by("status", "deadline", "-id")


def finding_photos(finding: Finding) -> QuerySet[Photo]:
    return finding.photos.all()


def finding_get(user, finding_id: int, perm: str = Perm.VIEW) -> Finding:
    finding = Finding.objects.filter(pk=finding_id).select_related("position", "campaign").first()
    _allow_at(user, finding.position if finding else None, perm, missing="finding", ident=finding_id)
    return finding


@dataclass
class OverdueFinding:
    finding: Finding
    days_overdue: int
    level: int  # 1: the mine's management; 2: the company; 3: the group

    @property
    def unit(self) -> Unit:
        return self.finding.position

    def __getattr__(self, name):  # the briefing pack reads title, severity, deadline… straight off the item
        return getattr(self.finding, name)

    def __str__(self) -> str:
        return f"{self.finding.position.code}: {self.finding.title} (+{self.days_overdue}d)"


def escalation_level(finding: Finding, days_overdue: int) -> int:
    """Overdue findings climb the tree: critical ones, or any more than 7 days late, go to the company;
    critical ones more than 3 days late, or any more than 14, to the group."""
    critical = finding.severity == Severity.CRITICAL
    if days_overdue > 14 or (critical and days_overdue > 3):
        return 3
    if days_overdue > 7 or critical:
        return 2
    return 1


def _end_of(on: dt.date | dt.datetime | None) -> tuple[dt.date, dt.datetime]:
    """(the local day, the instant it ends) of an as-of date: a date counts to its end (local midnight after
    it), a datetime is that instant; None is now."""
    if on is None:
        now = timezone.now()
        return timezone.localtime(now).date(), now
    if isinstance(on, dt.datetime):
        return timezone.localtime(on).date(), on
    return on, day_bound(on, end=True)


def _open_at(qs: QuerySet, instant: dt.datetime) -> QuerySet:
    """The findings of qs that were open at an instant: raised by then and not closed by then (whatever
    their status now)."""
    return qs.filter(created_at__lt=instant).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=instant))


def overdue_findings(unit: Unit, on: dt.date | dt.datetime | None = None) -> list[OverdueFinding]:
    """Findings under unit that were open at the end of the given day (default today) with their deadline
    before that day, most escalated first. As of that day: a finding raised later does not count, one closed
    later still does."""
    on, instant = _end_of(on)
    rows = []
    for finding in _open_at(
        Finding.objects.filter(position__path__startswith=unit.path, deadline__lt=on), instant
    ).select_related("position"):
        days = (on - finding.deadline).days
        rows.append(OverdueFinding(finding, days, escalation_level(finding, days)))
    rows.sort(key=lambda r: (-r.level, -r.days_overdue, r.finding.pk))
    return rows


def open_critical_findings(unit: Unit, on: dt.date | dt.datetime | None = None) -> QuerySet[Finding]:
    """Critical findings under unit open at the end of the given day (raised by then, not closed by then);
    without a day, those open now."""
    qs = Finding.objects.filter(position__path__startswith=unit.path, severity=Severity.CRITICAL)
    qs = _open_at(qs, _end_of(on)[1]) if on is not None else qs.filter(status=FindingStatus.OPEN)
    return qs.select_related("position").order_by("deadline", "id")


def critical_findings_closed_within(
    unit: Unit, start: dt.date | dt.datetime, end: dt.date | dt.datetime
) -> QuerySet[Finding]:
    """Critical findings under unit both raised and closed within [start, end] (dates inclusive): they are
    not open at the end, yet the period had them."""
    first, last = day_bound(start, end=False), day_bound(end, end=True)
    return (
        Finding.objects.filter(
            position__path__startswith=unit.path,
            severity=Severity.CRITICAL,
            created_at__gte=first,
            created_at__lt=last,
            closed_at__gte=first,
            closed_at__lt=last,
        )
        .select_related("position")
        .order_by("closed_at", "id")
    )


def responsible_candidates(finding: Finding):
    """Logins that may be made responsible for a finding: those holding a role on its position or above."""
    path = finding.position.path
    prefixes = [p for p in ancestor_paths(path) if p] + [path]
    return (
        get_user_model()
        .objects.filter(is_active=True, role_assignments__unit__path__in=prefixes)
        .distinct()
        .order_by("username")
    )
