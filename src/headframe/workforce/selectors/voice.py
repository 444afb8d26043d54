"""Reads of the workers' voice: grievances by unit, status and lateness (scoped), their counts, and key task 6's
KPI "answered on time"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get
from headframe.workforce.models import Grievance, GrievanceCategory, GrievanceStatus


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def grievances_visible(
    user,
    unit_code: str | None = None,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    on: dt.date | None = None,
) -> QuerySet[Grievance]:
    """The grievances of the units the user may see (of the unit's subtree when given; 404 for a unit outside
    the view), newest first; `overdue`: open past the due day on `on` (today)."""
    on = on or timezone.localdate()
    qs = Grievance.objects.filter(scope_for(user).q(Perm.VIEW, "unit__path")).select_related(
        "unit", "worker", "answered_by"
    )
    if unit_code:
        unit = unit_get(user, unit_code, loc=("query", "unit"))
        qs = qs.filter(unit__path__startswith=unit.path)
    if status:
        qs = qs.filter(status=status)
    if overdue is True:
        qs = qs.filter(status=GrievanceStatus.OPEN, due_on__lt=on)
    elif overdue is False:
        qs = qs.exclude(status=GrievanceStatus.OPEN, due_on__lt=on)
    return qs.order_by("-received_on", "-id")


def may_read_author(user, grievance: Grievance) -> bool:
    """Who raised a grievance is shown to the people who manage the workforce of its unit only."""
    return scope_for(user).allows(Perm.WORKFORCE, grievance.unit.path)


@dataclass
class GrievanceCounts:
    open: int = 0
    overdue: int = 0
    answered: int = 0
    closed: int = 0
    on_time: Decimal | None = None  # percent of the decided ones answered by their due day
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.open + self.answered + self.closed


def _on_time_q(end: dt.date) -> tuple[Q, Q]:
    """(decided by `end`: answered, or due before it; answered on time) as filters."""
    decided = Q(answered_on__isnull=False, answered_on__lte=end) | Q(due_on__lt=end)
    on_time = Q(answered_on__isnull=False, answered_on__lte=F("due_on")) & Q(answered_on__lte=end)
    return decided, on_time


def grievance_counts(
    user, unit_code: str | None = None, *, start: dt.date | None = None, on: dt.date | None = None
) -> GrievanceCounts:
    """Counts of the visible grievances (of the unit's subtree) received from `start` (1 January) to `on`
    (today): by status, overdue now, by category, and the percent answered on time. Two queries."""
    on = on or timezone.localdate()
    start = start or on.replace(month=1, day=1)
    qs = grievances_visible(user, unit_code, on=on).filter(received_on__gte=start, received_on__lte=on)
    decided, on_time = _on_time_q(on)
    totals = qs.aggregate(
        open=Count("pk", filter=Q(status=GrievanceStatus.OPEN)),
        overdue=Count("pk", filter=Q(status=GrievanceStatus.OPEN, due_on__lt=on)),
        answered=Count("pk", filter=Q(status=GrievanceStatus.ANSWERED)),
        closed=Count("pk", filter=Q(status=GrievanceStatus.CLOSED)),
        decided=Count("pk", filter=decided),
        on_time=Count("pk", filter=on_time),
    )
    by_category = dict.fromkeys(GrievanceCategory.values, 0)
    for category, count in qs.order_by().values_list("category").annotate(n=Count("pk")):
        by_category[category] = count
    return GrievanceCounts(
        open=totals["open"],
        overdue=totals["overdue"],
        answered=totals["answered"],
        closed=totals["closed"],
        on_time=_percent(totals["on_time"], totals["decided"]),
        by_category=by_category,
    )


def grievances_on_time(unit: Unit, start: dt.date, end: dt.date) -> Decimal | None:
    """Key task 6's KPI: of the grievances of the unit's subtree received from `start` to `end` whose outcome is
    known by `end` (answered, or past their due day), the percent answered by their due day (one decimal); None
    when there is none. Not scoped (the pack's figure for a unit its reader may see). One query."""
    decided, on_time = _on_time_q(end)
    totals = Grievance.objects.filter(
        unit__path__startswith=unit.path, received_on__gte=start, received_on__lte=end
    ).aggregate(decided=Count("pk", filter=decided), on_time=Count("pk", filter=on_time))
    return _percent(totals["on_time"], totals["decided"])
