"""Readiness of work positions (inspection, critical findings, gas) and the board with roll-ups per mine and
area."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.formatting import LOCAL_TZ
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, units_visible
from headframe.safety.models import (
    Campaign,
    CampaignPosition,
    CampaignStatus,
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    Severity,
)
from headframe.safety.readiness_hooks import hook_reasons
from headframe.safety.selectors._common import _sites_and_areas
from headframe.safety.selectors.campaigns import (
    BLOCKING_SEVERITIES,
    inspection_outcome,
    latest_inspections,
    site_and_area,
)
from headframe.telemetry.selectors import gas_status_for_positions


@dataclass
class Readiness:
    position: Unit
    campaign: Campaign | None
    ready: bool
    reasons: list[dict]  # [{"code": ..., "msg": ...}]
    inspection: Inspection | None
    outcome: str
    has_gas_sensors: bool
    released: bool = False
    released_by: str = ""
    released_at: dt.datetime | None = None

    @property
    def state(self) -> str:
        if self.released and self.ready:
            return "released"
        return "ready" if self.ready else "not_ready"


def _reason(code: str, msg: str) -> dict:
    return {"code": code, "msg": msg}


def readiness_many(
    positions: list[Unit], *, campaign: Campaign | None = None, now: dt.datetime | None = None
) -> dict[int, Readiness]:
    """Readiness of work positions: ready only when (a) the latest inspection in the campaign is
    countersigned and passed (or every critical/major finding it raised is closed), (b) no critical finding
    is open at the position, from any source, and (c) every gas sensor at it is in service, online, fresh and
    not alarming now (when it has gas sensors). Without a campaign, each position's active campaign is used."""
    now = now or timezone.now()
    ids = [p.pk for p in positions]
    cps: dict[int, CampaignPosition] = {}
    cp_qs = CampaignPosition.objects.filter(position_id__in=ids).select_related("campaign", "released_by")
    if campaign is not None:
        cp_qs = cp_qs.filter(campaign=campaign)
    else:
        cp_qs = cp_qs.filter(campaign__status=CampaignStatus.ACTIVE)
    for cp in cp_qs.order_by("campaign__starts_on", "campaign_id"):
        cps[cp.position_id] = cp  # the newest active campaign wins
    latest: dict[int, Inspection] = {}
    by_campaign = defaultdict(list)
    for pid, cp in cps.items():
        by_campaign[cp.campaign_id].append(pid)
    for pids in by_campaign.values():
        latest.update(latest_inspections(cps[pids[0]].campaign, pids))
    without = [pid for pid in ids if pid not in cps]
    if without:  # not in a campaign: the newest inspection anywhere
        for inspection in Inspection.objects.filter(position_id__in=without).order_by("created_at", "id"):
            latest[inspection.position_id] = inspection
    open_findings = defaultdict(list)
    for finding in Finding.objects.filter(position_id__in=ids, status=FindingStatus.OPEN).order_by("id"):
        open_findings[finding.position_id].append(finding)
    gas = gas_status_for_positions(ids, now=now)
    hooked = hook_reasons(positions, now.astimezone(LOCAL_TZ).date())  # checks of the apps above (workforce)
    out = {}
    for position in positions:
        cp = cps.get(position.pk)
        inspection = latest.get(position.pk)
        from_inspection = [
            f for f in open_findings[position.pk] if inspection and f.inspection_id == inspection.pk
        ]
        outcome = inspection_outcome(inspection, from_inspection)
        reasons = []
        if outcome == "pending":
            if inspection is None:
                reasons.append(_reason("no_inspection", _("No inspection of this position yet")))
            elif inspection.status == InspectionStatus.PENDING:
                reasons.append(_reason("inspection_pending", _("Inspection not yet signed by the inspector")))
            else:
                reasons.append(
                    _reason(
                        "inspection_not_countersigned", _("Inspection not yet countersigned by the overman")
                    )
                )
        elif outcome == "failed":
            blocking = [f for f in from_inspection if f.severity in BLOCKING_SEVERITIES]
            reasons.append(
                _reason(
                    "inspection_failed",
                    _("Inspection failed: %(n)d critical/major finding(s) still open") % {"n": len(blocking)},
                )
            )
        critical = [f for f in open_findings[position.pk] if f.severity == Severity.CRITICAL]
        for finding in critical:
            reasons.append(
                _reason(
                    "critical_finding",
                    _("Critical finding #%(id)d open: %(title)s")
                    % {"id": finding.pk, "title": finding.title},
                )
            )
        has_gas = position.pk in gas
        if has_gas and not gas[position.pk][0]:
            for detail in gas[position.pk][1]:
                reasons.append(_reason("gas", _("Gas monitoring: %(detail)s") % {"detail": detail}))
        reasons += hooked.get(position.pk, [])
        out[position.pk] = Readiness(
            position=position,
            campaign=cp.campaign if cp else None,
            ready=not reasons,
            reasons=reasons,
            inspection=inspection,
            outcome=outcome,
            has_gas_sensors=has_gas,
            released=bool(cp and cp.released),
            released_by=cp.released_by.username if cp and cp.released and cp.released_by else "",
            released_at=cp.released_at if cp and cp.released else None,
        )
    return out


def readiness(
    position: Unit, now: dt.datetime | None = None, *, campaign: Campaign | None = None
) -> Readiness:
    return readiness_many([position], campaign=campaign, now=now)[position.pk]


@dataclass
class ReadinessRollup:
    unit: Unit
    total: int = 0
    ready: int = 0
    released: int = 0

    @property
    def not_ready(self) -> int:
        return self.total - self.ready


@dataclass
class ReadinessBoard:
    positions: list[Readiness]
    sites: list[ReadinessRollup]
    areas: list[ReadinessRollup]
    sites_of: dict[int, tuple[Unit | None, Unit | None]]


def board_units(user) -> QuerySet[Unit]:
    """The units the readiness board can be drawn for: groups, companies and mines the user may see."""
    return units_visible(user).filter(kind__in=[UnitKind.GROUP, UnitKind.COMPANY, UnitKind.SITE])


def readiness_board(user, unit: Unit, *, campaign: Campaign | None = None, now=None) -> ReadinessBoard:
    """Every work position under unit that is in a campaign (the given one, else any active one), with its
    readiness and roll-ups per mine and area."""
    cps = CampaignPosition.objects.filter(position__path__startswith=unit.path).filter(
        scope_for(user).q(Perm.VIEW, "position__path")
    )
    cps = cps.filter(campaign=campaign) if campaign is not None else cps.filter(campaign__status="active")
    positions = list(Unit.objects.filter(pk__in=cps.values("position_id")).order_by("path"))
    states = readiness_many(positions, campaign=campaign, now=now)
    units = _sites_and_areas([p.path for p in positions])
    sites: dict[str, ReadinessRollup] = {}
    areas: dict[str, ReadinessRollup] = {}
    sites_of = {}
    for position in positions:
        site, area = site_and_area(position, units)
        sites_of[position.pk] = (site, area)
        state = states[position.pk]
        for key, bucket, u in ((site and site.code, sites, site), (area and area.code, areas, area)):
            if u is None:
                continue
            row = bucket.setdefault(key, ReadinessRollup(u))
            row.total += 1
            row.ready += state.ready
            row.released += state.released and state.ready
    return ReadinessBoard(
        positions=[states[p.pk] for p in positions],
        sites=sorted(sites.values(), key=lambda r: r.unit.code),
        areas=sorted(areas.values(), key=lambda r: r.unit.path),
        sites_of=sites_of,
    )
