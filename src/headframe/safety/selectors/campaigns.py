"""Campaigns and their progress: done / failed / pending by mine and area, the overdue list."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.errors import NotFound
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety.models import (
    Campaign,
    CampaignPosition,
    CampaignStatus,
    Finding,
    FindingStatus,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Severity,
)
from headframe.safety.selectors._common import _sites_and_areas

BLOCKING_SEVERITIES = (Severity.CRITICAL, Severity.MAJOR)  # an inspection passes once these are closed


def campaigns_visible(user) -> QuerySet[Campaign]:
    """Campaigns with at least one work position the user may see."""
    positions = CampaignPosition.objects.filter(scope_for(user).q(Perm.VIEW, "position__path"))
    return Campaign.objects.filter(pk__in=positions.values("campaign_id")).order_by("-starts_on", "code")


def campaigns_listed(user) -> QuerySet[Campaign]:
    """campaigns_visible with each campaign's units at hand (for a list that shows them)."""
    return campaigns_visible(user).prefetch_related("units")


def campaign_units(campaign: Campaign) -> list[Unit]:
    return list(campaign.units.all())


def campaign_get(user, code: str) -> Campaign:
    campaign = campaigns_visible(user).filter(code=code).first()
    if campaign is None:
        raise NotFound(loc=("path", "code"), key="not_found.campaign", params={"code": repr(code)})
    return campaign


def active_campaign_for(position: Unit) -> Campaign | None:
    return (
        Campaign.objects.filter(status=CampaignStatus.ACTIVE, positions__position=position)
        .order_by("-starts_on", "-id")
        .first()
    )


def site_and_area(position: Unit, units: dict[str, Unit]) -> tuple[Unit | None, Unit | None]:
    chain = [units.get(c) for c in position.path.strip("/").split("/")]
    site = next((u for u in chain if u is not None and u.kind == UnitKind.SITE), None)
    parent = chain[-2] if len(chain) > 1 else None
    area = parent if parent is not None and parent.kind == UnitKind.AREA else None
    return site, area


def latest_inspections(campaign: Campaign, position_ids=None) -> dict[int, Inspection]:
    """{position id: its newest inspection in the campaign}."""
    qs = Inspection.objects.filter(campaign=campaign)
    if position_ids is not None:
        qs = qs.filter(position_id__in=list(position_ids))
    newest = qs.values("position_id").annotate(seq=Max("sequence"))
    wanted = Q(pk__in=[])
    for row in newest:
        wanted |= Q(position_id=row["position_id"], sequence=row["seq"])
    return {
        i.position_id: i
        for i in qs.filter(wanted).select_related("position", "signed_by", "countersigned_by", "template")
    }


def _open_findings_by_inspection(inspection_ids) -> dict[int, list[Finding]]:
    out = defaultdict(list)
    for finding in Finding.objects.filter(inspection_id__in=list(inspection_ids), status=FindingStatus.OPEN):
        out[finding.inspection_id].append(finding)
    return out


def inspection_outcome(inspection: Inspection | None, open_findings: list[Finding]) -> str:
    """pending (not countersigned yet) / passed / passed_after_actions / failed (blocking findings open)."""
    if inspection is None or inspection.status != InspectionStatus.COMPLETE:
        return "pending"
    if inspection.result == InspectionResult.PASSED:
        return "passed"
    if any(f.severity in BLOCKING_SEVERITIES for f in open_findings):
        return "failed"
    return "passed_after_actions"


@dataclass
class ProgressRow:
    unit: Unit
    total: int = 0
    done: int = 0
    failed: int = 0
    pending: int = 0
    ready: int = 0
    released: int = 0
    overdue: int = 0

    @property
    def done_pct(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0


@dataclass
class PositionProgress:
    campaign_position: CampaignPosition
    site: Unit | None
    area: Unit | None
    inspection: Inspection | None
    outcome: str
    overdue: bool


@dataclass
class CampaignProgress:
    campaign: Campaign
    total: ProgressRow
    sites: list[ProgressRow]
    areas: dict[str, list[ProgressRow]]  # site code → its areas
    positions: list[PositionProgress]
    overdue: list[PositionProgress] = field(default_factory=list)


def campaign_progress(campaign: Campaign, user=None, *, on: dt.date | None = None) -> CampaignProgress:
    """Done / failed / pending by mine and by area, ready and released counts, and the overdue list
    (inspections not countersigned by their due day). Only positions the user may see count."""
    on = on or timezone.localdate()
    cps = list(
        CampaignPosition.objects.filter(campaign=campaign)
        .filter(scope_for(user).q(Perm.VIEW, "position__path"))
        .select_related("position", "released_by")
        .order_by("position__path")
    )
    latest = latest_inspections(campaign, [cp.position_id for cp in cps])
    open_by_inspection = _open_findings_by_inspection(i.pk for i in latest.values())
    units = _sites_and_areas([cp.position.path for cp in cps])
    total = ProgressRow(Unit(code="*", name_vi=_("All"), kind=UnitKind.GROUP))
    sites: dict[str, ProgressRow] = {}
    areas: dict[str, dict[str, ProgressRow]] = defaultdict(dict)
    positions = []
    for cp in cps:
        inspection = latest.get(cp.position_id)
        outcome = inspection_outcome(inspection, open_by_inspection.get(getattr(inspection, "pk", None), []))
        due = inspection.due_on if inspection else campaign.due_on
        overdue = outcome == "pending" and due < on
        site, area = site_and_area(cp.position, units)
        rows = [total]
        if site is not None:
            rows.append(sites.setdefault(site.code, ProgressRow(site)))
            if area is not None:
                rows.append(areas[site.code].setdefault(area.code, ProgressRow(area)))
        for row in rows:
            row.total += 1
            if outcome == "pending":
                row.pending += 1
            elif outcome == "failed":
                row.failed += 1
            else:
                row.done += 1
            row.ready += cp.ready
            row.released += cp.released
            row.overdue += overdue
        positions.append(PositionProgress(cp, site, area, inspection, outcome, overdue))
    return CampaignProgress(
        campaign=campaign,
        total=total,
        sites=sorted(sites.values(), key=lambda r: r.unit.code),
        areas={code: sorted(a.values(), key=lambda r: r.unit.code) for code, a in areas.items()},
        positions=positions,
        overdue=[p for p in positions if p.overdue],
    )
