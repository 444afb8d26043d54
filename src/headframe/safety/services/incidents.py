"""Incidents and near misses: reported, investigated, linked to findings."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_record
from headframe.core.dates import check_day
from headframe.core.errors import ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_named
from headframe.safety import selectors
from headframe.safety.models import (
    Finding,
    Incident,
    IncidentCategory,
    IncidentKind,
    IncidentSeverity,
)
from headframe.safety.services._common import _actor, _audit_also, _clean_texts


def _findings_for(actor, ids, loc) -> list[Finding]:
    """The findings an incident is linked to: each visible to the actor (else unknown, like a missing one) and
    at a place where the actor may report or inspect — linking writes to the finding's place as well as the
    incident's, so seeing it is not enough."""
    ids = list(ids or [])
    found = {f.pk: f for f in selectors.findings_visible(actor).filter(pk__in=ids).select_related("position")}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(
            loc=loc,
            type="unknown_finding",
            params={"ids": [str(i) for i in missing]},
            key="unknown_finding.ids",
        )
    scope = scope_for(actor)
    denied = [
        ErrorItem(
            (*loc, n),
            type="permission_denied",
            params={"unit": found[i].position.code},
            key="permission_denied.link_findings",
        )
        for n, i in enumerate(ids)
        if not selectors.may_report_or_inspect(scope, found[i].position.path)
    ]
    if denied:
        raise PermissionDenied(items=denied)
    return list(found.values())


def _audit_links(actor, incident: Incident, findings: list[Finding]) -> None:
    """The findings' own places learn that they were linked to this incident."""
    _audit_also(
        actor,
        obj=incident,
        primary=incident.unit.path,
        paths=[f.position.path for f in findings],
        action="link",
        after={"incident": incident.pk, "findings": sorted(f.pk for f in findings)},
    )


@transaction.atomic
def incident_report(
    *,
    actor,
    unit_code: str,
    kind: str,
    category: str,
    severity: str,
    occurred_at: dt.datetime,
    title: str,
    description: str = "",
    people_involved: str = "",
    injured: int = 0,
    immediate_actions: str = "",
    finding_ids: list[int] | None = None,
    now=None,
) -> Incident:
    now = now or timezone.now()
    unit = unit_named(actor, unit_code, loc=("body", "unit"))
    if not selectors.may_report_or_inspect(scope_for(actor), unit.path):
        raise PermissionDenied(
            loc=("body", "unit"), key="permission_denied.incidents", params={"unit": unit.code}
        )
    errors = []
    for name, value, choices in (
        ("kind", kind, IncidentKind),
        ("category", category, IncidentCategory),
        ("severity", severity, IncidentSeverity),
    ):
        if value not in choices.values:
            errors.append(
                ErrorItem(
                    ("body", name),
                    type="enum",
                    params={"field": name, "choices": list(choices.values)},
                    key="enum.choice",
                )
            )
    try:
        _clean_texts(
            {
                "title": title,
                "description": description,
                "people_involved": people_involved,
                "immediate_actions": immediate_actions,
            },
            multiline=("description", "people_involved", "immediate_actions"),
        )
        check_day(occurred_at, loc=("body", "occurred_at"))
    except ValidationFailed as exc:
        errors.extend(exc.items)
    if occurred_at is None or timezone.is_naive(occurred_at):
        errors.append(
            ErrorItem(("body", "occurred_at"), type="naive_time", params={}, key="naive_time.offset")
        )
    elif occurred_at > now + dt.timedelta(minutes=5):
        errors.append(ErrorItem(("body", "occurred_at"), type="future", params={}))
    if kind == IncidentKind.NEAR_MISS and injured:
        errors.append(
            ErrorItem(("body", "injured"), type="near_miss_injury", params={}, key="near_miss_injury.nobody")
        )
    if errors:
        raise ValidationFailed(items=errors)
    findings = _findings_for(actor, finding_ids, ("body", "findings"))
    incident = Incident(
        unit=unit,
        kind=kind,
        category=category,
        severity=severity,
        occurred_at=occurred_at,
        title=title,
        description=description,
        people_involved=people_involved,
        injured=injured,
        immediate_actions=immediate_actions,
        reported_by=_actor(actor),
        reported_at=now,
    )
    audited_create(actor=actor, obj=incident, unit_path=unit.path)
    if findings:
        incident.findings.set(findings)
        _audit_links(actor, incident, findings)
    return incident


@transaction.atomic
def incident_update(
    *,
    actor,
    incident_id: int,
    investigation: str | None = None,
    root_cause: str | None = None,
    immediate_actions: str | None = None,
    severity: str | None = None,
    finding_ids: list[int] | None = None,
) -> Incident:
    incident = selectors.incident_get(actor, incident_id, Perm.SAFETY)
    changes = {
        k: v
        for k, v in (
            ("investigation", investigation),
            ("root_cause", root_cause),
            ("immediate_actions", immediate_actions),
            ("severity", severity),
        )
        if v is not None
    }
    if severity is not None and severity not in IncidentSeverity.values:
        raise ValidationFailed(
            loc=("body", "severity"),
            type="enum",
            params={"field": "severity", "choices": list(IncidentSeverity.values)},
            key="enum.choice",
        )
    _clean_texts(
        {k: v for k, v in changes.items() if k != "severity"},
        multiline=("investigation", "root_cause", "immediate_actions"),
    )
    findings = _findings_for(actor, finding_ids, ("body", "findings")) if finding_ids is not None else None
    audited_update(actor=actor, obj=incident, changes=changes, unit_path=incident.unit.path)
    if findings is not None:
        incident.findings.set(findings)
        audit_record(
            actor=actor,
            action="link",
            obj=incident,
            unit_path=incident.unit.path,
            after={"findings": sorted(f.pk for f in findings)},
        )
        _audit_links(actor, incident, findings)
    return incident
