"""Campaigns: opening one over some units (an inspection per work position) and changing its gate or status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from headframe.core.audit import audit_record, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update, validate
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety import selectors
from headframe.safety.messages import both_languages
from headframe.safety.models import (
    Campaign,
    CampaignPosition,
    CampaignStatus,
    GateMode,
    Inspection,
    ReadinessEvent,
)
from headframe.safety.rules import common_path
from headframe.safety.services._common import _actor, _audit_also, _clean_texts


@dataclass
class CampaignResult:
    campaign: Campaign
    inspections: int = 0
    skipped: list[str] = field(default_factory=list)  # positions whose kind has no checklist


@transaction.atomic
def campaign_create(
    *,
    actor,
    code: str,
    title_vi: str,
    unit_codes: list[str],
    starts_on: dt.date,
    due_on: dt.date,
    title_en: str = "",
    gate_mode: str = GateMode.REJECT,
    teams: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> CampaignResult:
    """Open a campaign over some units: one inspection per active work position in scope, with the newest
    checklist for its kind, assigned to the team named for its area (or mine, or the position itself)."""
    now = now or timezone.now()
    scope = scope_for(actor)
    errors: list[ErrorItem] = []
    denied: list[ErrorItem] = []
    if not unit_codes:
        errors.append(ErrorItem(("body", "units"), type="missing", params={}, key="missing.units"))
    units = {u.code: u for u in Unit.objects.filter(code__in=unit_codes)}
    chosen: list[Unit] = []
    for n, unit_code in enumerate(unit_codes):
        unit = units.get(unit_code)
        if unit is None or not scope.allows(Perm.VIEW, unit.path):
            errors.append(
                ErrorItem(
                    ("body", "units", n),
                    type="unknown_unit",
                    params={"unit": repr(unit_code)},
                    key="unknown_unit.named",
                )
            )
        elif not scope.allows(Perm.SAFETY, unit.path):
            denied.append(
                ErrorItem(
                    ("body", "units", n),
                    type="permission_denied",
                    params={"unit": unit.code},
                    key="permission_denied.inspect",
                )
            )
        else:
            chosen.append(unit)
    if gate_mode not in GateMode.values:
        errors.append(
            ErrorItem(
                ("body", "gate_mode"),
                type="enum",
                params={"field": "gate_mode", "choices": list(GateMode.values)},
                key="enum.choice",
            )
        )
    # A team is named for a unit on the line of a chosen unit (the mine above an area, an area or position
    # below it); a unit the caller cannot see answers as an unknown one.
    team_units = {u.code: u for u in Unit.objects.filter(code__in=[str(c) for c in (teams or {})])}
    for team_code in teams or {}:
        unit = team_units.get(team_code)
        where = ("body", "teams", team_code)
        if unit is None or not scope.allows(Perm.VIEW, unit.path):
            errors.append(
                ErrorItem(
                    where, type="unknown_unit", params={"unit": repr(team_code)}, key="unknown_unit.named"
                )
            )
        elif chosen and not any(unit.path.startswith(c.path) or c.path.startswith(unit.path) for c in chosen):
            errors.append(
                ErrorItem(where, type="team_outside", params={"unit": unit.code}, key="team_outside.line")
            )
    try:
        check_day(starts_on, loc=("body", "starts_on"))
        check_day(due_on, loc=("body", "due_on"))
        _clean_texts({"code": code, "title_vi": title_vi, "title_en": title_en})
        _clean_texts(dict(teams or {}), loc=("body", "teams"))
    except ValidationFailed as exc:
        errors.extend(exc.items)
    if errors:
        raise ValidationFailed(items=errors)
    if denied:
        raise PermissionDenied(items=denied)
    campaign = Campaign(
        code=code,
        title_vi=title_vi,
        title_en=title_en,
        starts_on=starts_on,
        due_on=due_on,
        gate_mode=gate_mode,
        created_by=_actor(actor),
        created_at=now,
    )
    validate(campaign)
    positions: dict[int, Unit] = {}
    for unit in chosen:
        for position in Unit.objects.filter(
            path__startswith=unit.path, kind=UnitKind.POSITION, is_active=True
        ).order_by("path"):
            positions[position.pk] = position
    templates = {}
    result_skipped = []
    inspectable = []
    for position in sorted(positions.values(), key=lambda p: p.path):
        if position.position_kind not in templates:
            templates[position.position_kind] = selectors.template_for_kind(position.position_kind)
        if templates[position.position_kind] is None:
            result_skipped.append(position.code)
        else:
            inspectable.append(position)
    if not inspectable:
        raise ValidationFailed(loc=("body", "units"), type="empty", params={}, key="empty.no_position")
    busy = list(
        CampaignPosition.objects.filter(
            position__in=inspectable, campaign__status=CampaignStatus.ACTIVE
        ).select_related("position", "campaign")[:5]
    )
    if busy:
        raise ValidationFailed(
            items=[
                ErrorItem(
                    ("body", "units"),
                    type="already_in_campaign",
                    params={"position": cp.position.code, "campaign": cp.campaign.code},
                    key="already_in_campaign.active",
                )
                for cp in busy
            ]
        )
    unit_path = common_path([u.path for u in chosen])
    audited_create(actor=actor, obj=campaign, unit_path=unit_path)
    campaign.units.set(chosen)
    # A campaign over several units is filed where they meet; each unit's own auditors get the row as well.
    _audit_also(
        actor,
        obj=campaign,
        primary=unit_path,
        paths=[u.path for u in chosen],
        action="create",
        after={"code": campaign.code, "units": sorted(u.code for u in chosen)},
    )
    team_paths = sorted(
        ((u.path, team) for c, team in (teams or {}).items() for u in Unit.objects.filter(code=c)),
        key=lambda pt: -len(pt[0]),
    )

    def team_for(position: Unit) -> str:
        return next((team for path, team in team_paths if position.path.startswith(path)), "")

    reasons = [{"code": "no_inspection", "msg": "inspection not done yet"}]
    CampaignPosition.objects.bulk_create(
        CampaignPosition(
            campaign=campaign,
            position=p,
            team=team_for(p),
            ready=False,
            reasons=reasons,
            state_changed_at=now,
        )
        for p in inspectable
    )
    Inspection.objects.bulk_create(
        Inspection(
            campaign=campaign,
            position=p,
            template=templates[p.position_kind],
            sequence=1,
            team=team_for(p),
            due_on=due_on,
            created_at=now,
        )
        for p in inspectable
    )
    ReadinessEvent.objects.bulk_create(
        ReadinessEvent(
            campaign=campaign, position=p, at=now, kind=ReadinessEvent.Kind.NOT_READY, reasons=reasons
        )
        for p in inspectable
    )
    audit_record(
        actor=actor,
        action="generate",
        obj=campaign,
        unit_path=unit_path,
        after={"inspections": len(inspectable), "skipped": result_skipped[:50]},
    )
    return CampaignResult(campaign, len(inspectable), result_skipped)


def _campaign_units_allow(actor, campaign: Campaign, perm: str) -> None:
    scope = scope_for(actor)
    units = list(campaign.units.all())
    if not units or not all(scope.allows(perm, u.path) for u in units):
        raise PermissionDenied(
            loc=("path", "code"),
            key="permission_denied.campaign",
            params={"action": both_languages(Perm(perm).label), "campaign": campaign.code},
        )


@transaction.atomic
def campaign_update(
    *, actor, campaign: Campaign, gate_mode: str | None = None, status: str | None = None, now=None
):
    """A planner chooses whether shift figures of positions not yet released are rejected or flagged; a safety
    officer (or planner) closes the campaign, which lifts its gate."""
    changes = {}
    if gate_mode is not None:
        _campaign_units_allow(actor, campaign, Perm.PLAN)
        if gate_mode not in GateMode.values:
            raise ValidationFailed(
                loc=("body", "gate_mode"),
                type="enum",
                params={"field": "gate_mode", "choices": list(GateMode.values)},
                key="enum.choice",
            )
        changes["gate_mode"] = gate_mode
    if status is not None:
        scope = scope_for(actor)
        if not all(
            scope.allows(Perm.SAFETY, u.path) or scope.allows(Perm.PLAN, u.path) for u in campaign.units.all()
        ):
            raise PermissionDenied(
                loc=("body", "status"),
                key="permission_denied.close_campaign",
                params={"campaign": campaign.code},
            )
        if status not in CampaignStatus.values:
            raise ValidationFailed(
                loc=("body", "status"),
                type="enum",
                params={"field": "status", "choices": list(CampaignStatus.values)},
                key="enum.choice",
            )
        changes["status"] = status
        changes["closed_at"] = (now or timezone.now()) if status == CampaignStatus.CLOSED else None
    units = list(campaign.units.all())
    unit_path = common_path([u.path for u in units])
    if audited_update(actor=actor, obj=campaign, changes=changes, unit_path=unit_path):
        _audit_also(
            actor,
            obj=campaign,
            primary=unit_path,
            paths=[u.path for u in units],
            action="update",
            after=snapshot(campaign, changes),
        )
    return campaign
