"""Findings: raised on a walk-round, reassigned or rescheduled, closed with evidence."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.org.roles import Perm
from headframe.org.selectors import unit_named
from headframe.safety import selectors
from headframe.safety.messages import both_languages
from headframe.safety.models import Finding, FindingStatus, Severity
from headframe.safety.services._common import _actor, _clean_texts, _visible
from headframe.safety.services.readiness import _refresh_after


@transaction.atomic
def finding_create(
    *,
    actor,
    position_code: str,
    severity: str,
    title: str,
    deadline: dt.date,
    detail: str = "",
    responsible: str = "",
    now=None,
) -> Finding:
    """A finding from a walk-round or an incident, at a work position (or any unit)."""
    now = now or timezone.now()
    unit = unit_named(actor, position_code, loc=("body", "position"))
    _visible(actor, unit, Perm.SAFETY, loc=("body", "position"))
    check_day(deadline, loc=("body", "deadline"))
    _clean_texts({"title": title, "detail": detail, "responsible": responsible}, multiline=("detail",))
    campaign = selectors.active_campaign_for(unit)
    finding = Finding(
        position=unit,
        campaign=campaign,
        severity=severity,
        title=title,
        detail=detail,
        responsible=responsible,
        deadline=deadline,
        created_at=now,
        created_by=_actor(actor),
    )
    audited_create(actor=actor, obj=finding, unit_path=unit.path)
    _refresh_after(actor, unit, campaign, now)
    return finding


@transaction.atomic
def finding_update(
    *,
    actor,
    finding_id: int,
    responsible: str | None = None,
    responsible_user: str | None = None,
    deadline: dt.date | None = None,
    severity: str | None = None,
    now=None,
) -> Finding:
    """Change who is responsible (a name, and/or a login whose role covers the finding's position), the
    deadline (not in the past) or the severity (the priority) of an open finding: safety role only, audited."""
    now = now or timezone.now()
    finding = selectors.finding_get(actor, finding_id, Perm.SAFETY)
    if finding.status == FindingStatus.CLOSED:
        raise Conflict(loc=("path", "id"), type="closed", params={}, key="closed.finding")
    changes = {}
    errors: list[ErrorItem] = []
    if responsible is not None:
        _clean_texts({"responsible": responsible})
        if len(responsible) > 200:
            errors.append(
                ErrorItem(("body", "responsible"), type="too_long", params={"max": 200}, key="too_long.chars")
            )
        changes["responsible"] = responsible.strip()
    if responsible_user is not None:
        if responsible_user.strip() == "":
            changes["responsible_user"] = None
        else:
            person = (
                selectors.responsible_candidates(finding).filter(username=responsible_user.strip()).first()
            )
            if person is None:
                errors.append(
                    ErrorItem(
                        ("body", "responsible_user"),
                        type="outside_unit",
                        params={"user": responsible_user.strip()[:60], "unit": finding.position.code},
                        key="outside_unit.responsible",
                    )
                )
            else:
                changes["responsible_user"] = person
                if responsible is None and not finding.responsible:
                    changes["responsible"] = person.get_full_name() or person.username
    if deadline is not None:
        check_day(deadline, loc=("body", "deadline"))
        today = timezone.localtime(now).date()
        if deadline < today and deadline != finding.deadline:
            errors.append(
                ErrorItem(
                    ("body", "deadline"),
                    type="deadline_in_past",
                    params={"day": deadline},
                    key="deadline_in_past.finding",
                )
            )
        changes["deadline"] = deadline
    if severity is not None and severity not in Severity.values:
        errors.append(
            ErrorItem(
                ("body", "severity"),
                type="enum",
                params={"choices": list(Severity.values)},
                key="enum.severity",
            )
        )
        severity = None
    if errors:
        raise ValidationFailed(items=errors)
    if severity is not None:
        if finding.item is not None and finding.item.critical and severity != Severity.CRITICAL:
            raise ValidationFailed(
                loc=("body", "severity"), type="critical_item", params={}, key="critical_item.stays"
            )
        changes["severity"] = severity
    audited_update(actor=actor, obj=finding, changes=changes, unit_path=finding.position.path)
    _refresh_after(actor, finding.position, finding.campaign, now)
    return finding


@transaction.atomic
def finding_close(
    *, actor, finding_id: int, action_taken: str, evidence: str = "", now: dt.datetime | None = None
) -> Finding:
    """A safety officer verifies the corrective action and closes the finding. Closure needs the action taken
    and evidence (a note of what was checked, or a photo attached to the finding)."""
    now = now or timezone.now()
    finding = selectors.finding_get(actor, finding_id, Perm.SAFETY)
    if finding.status == FindingStatus.CLOSED:
        raise Conflict(loc=("path", "id"), type="closed", params={}, key="closed.finding_already")
    _clean_texts({"action_taken": action_taken, "evidence": evidence}, multiline=("action_taken", "evidence"))
    errors = []
    if not (action_taken or "").strip():
        errors.append(
            ErrorItem(("body", "action_taken"), type="missing", params={}, key="missing.action_taken")
        )
    if not (evidence or "").strip() and not finding.photos.exists():
        errors.append(
            ErrorItem(
                ("body", "evidence"),
                type="evidence_required",
                params={"severity": both_languages(Severity(finding.severity).label, lower=True)},
                key="evidence_required.finding",
            )
        )
    if errors:
        raise ValidationFailed(items=errors)
    audited_update(
        actor=actor,
        obj=finding,
        changes={
            "status": FindingStatus.CLOSED,
            "action_taken": action_taken.strip(),
            "evidence": (evidence or "").strip(),
            "closed_at": now,
            "verified_by": actor,
        },
        unit_path=finding.position.path,
        action="close",
    )
    _refresh_after(actor, finding.position, finding.campaign, now)
    return finding
