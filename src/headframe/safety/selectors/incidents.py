"""Incidents: the register, one by id, counts per type in a period for the briefing pack."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db.models import QuerySet

from headframe.org.models import Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, units_visible
from headframe.safety.models import Incident, IncidentKind, IncidentSeverity
from headframe.safety.selectors._common import _allow_at, day_bound


def incidents_visible(
    user, *, unit: Unit | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> QuerySet[Incident]:
    qs = Incident.objects.filter(scope_for(user).q(Perm.VIEW, "unit__path")).select_related(
        "unit", "reported_by"
    )
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    if start is not None:
        qs = qs.filter(occurred_at__gte=start)
    if end is not None:
        qs = qs.filter(occurred_at__lt=end)
    return qs.order_by("-occurred_at")


def incident_register(
    user, *, unit: Unit | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> QuerySet[Incident]:
    """incidents_visible with each incident's linked findings at hand."""
    return incidents_visible(user, unit=unit, start=start, end=end).prefetch_related("findings")


def incident_findings(incident: Incident) -> QuerySet:
    """The findings an incident is linked to."""
    return incident.findings.all()


def reporting_positions(user, unit: Unit) -> QuerySet[Unit]:
    """Units under unit where the user may report (the incident form's choice), first 500 by path."""
    return units_visible(user, Perm.REPORT).filter(path__startswith=unit.path).order_by("path")[:500]


def incident_get(user, incident_id: int, perm: str = Perm.VIEW) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).select_related("unit").first()
    _allow_at(user, incident.unit if incident else None, perm, missing="incident", ident=incident_id)
    return incident


def incident_counts(unit: Unit, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> dict:
    """Incidents under unit in [start, end] (dates inclusive, datetimes half-open) for the briefing pack:
    counts by type, and (nested, so they do not add to the total) by severity and people injured."""
    qs = Incident.objects.filter(
        unit__path__startswith=unit.path,
        occurred_at__gte=day_bound(start, end=False),
        occurred_at__lt=day_bound(end, end=True),
    )
    by_kind = Counter(qs.values_list("kind", flat=True))
    by_severity = Counter(qs.values_list("severity", flat=True))
    out: dict = {kind: by_kind.get(kind, 0) for kind in IncidentKind.values}
    out["details"] = {
        "by_severity": {s: by_severity.get(s, 0) for s in IncidentSeverity.values},
        "injured": sum(qs.values_list("injured", flat=True)),
    }
    return out
