"""Safety reads: templates, campaigns and their progress, inspections, findings (overdue, critical),
incidents, readiness of work positions and the production gate. Filtered by what the caller may see."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from headframe.core.errors import NotFound, PermissionDenied
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for
from headframe.safety.models import (
    Campaign,
    CampaignPosition,
    CampaignStatus,
    ChecklistTemplate,
    Finding,
    FindingStatus,
    Incident,
    IncidentKind,
    IncidentSeverity,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Photo,
    ReadinessEvent,
    Severity,
)

BLOCKING_SEVERITIES = (Severity.CRITICAL, Severity.MAJOR)  # an inspection passes once these are closed


def may_report_or_inspect(scope, path: str) -> bool:
    """The reporting role (the shift overman on the spot) or the safety role on a unit: who may countersign
    an inspection, report an incident and attach photos or evidence."""
    return scope.allows(Perm.REPORT, path) or scope.allows(Perm.SAFETY, path)


def _allow_at(user, unit: Unit | None, perm: str, *, missing: str) -> None:
    """For a record found by id at this unit (None: no such record): 404 "<missing> not found" when there is
    none or its unit is outside the user's view (never revealing what exists out of scope), 403 when visible
    without perm."""
    scope = scope_for(user)
    if unit is None or not scope.allows(Perm.VIEW, unit.path):
        raise NotFound(f"{missing} not found", loc=("path", "id"))
    if perm != Perm.VIEW and not scope.allows(perm, unit.path):
        raise PermissionDenied(f"you may not {Perm(perm).label} for {unit.code}", loc=("path", "id"))


# --- templates ----------------------------------------------------------------------------------------------


def templates_latest() -> list[ChecklistTemplate]:
    """The newest active version of every template code."""
    newest = {}
    for template in ChecklistTemplate.objects.filter(is_active=True).order_by("code", "-version"):
        newest.setdefault(template.code, template)
    return sorted(newest.values(), key=lambda t: (t.position_kind, t.code))


def template_for_kind(position_kind: str) -> ChecklistTemplate | None:
    return (
        ChecklistTemplate.objects.filter(position_kind=position_kind, is_active=True)
        .order_by("-version", "-id")
        .first()
    )


def template_get(code: str, version: int | None = None) -> ChecklistTemplate:
    qs = ChecklistTemplate.objects.filter(code=code)
    template = qs.filter(version=version).first() if version else qs.order_by("-version").first()
    if template is None:
        raise NotFound(f"checklist template {code!r} not found", loc=("path", "code"))
    return template


def template_structure(template: ChecklistTemplate) -> list[dict]:
    sections = []
    items_by_section = defaultdict(list)
    for item in template.items.all().order_by("order"):
        items_by_section[item.section_id].append(item)
    for section in template.sections.all().order_by("order"):
        sections.append({"section": section, "items": items_by_section[section.pk]})
    return sections


# --- campaigns ----------------------------------------------------------------------------------------------


def campaigns_visible(user) -> QuerySet[Campaign]:
    """Campaigns with at least one work position the user may see."""
    positions = CampaignPosition.objects.filter(scope_for(user).q(Perm.VIEW, "position__path"))
    return Campaign.objects.filter(pk__in=positions.values("campaign_id")).order_by("-starts_on", "code")


def campaign_get(user, code: str) -> Campaign:
    campaign = campaigns_visible(user).filter(code=code).first()
    if campaign is None:
        raise NotFound(f"campaign {code!r} not found", loc=("path", "code"))
    return campaign


def active_campaign_for(position: Unit) -> Campaign | None:
    return (
        Campaign.objects.filter(status=CampaignStatus.ACTIVE, positions__position=position)
        .order_by("-starts_on", "-id")
        .first()
    )


def _sites_and_areas(paths: list[str]) -> dict[str, Unit]:
    """Every unit on the given paths, by code."""
    codes = {c for p in paths for c in p.strip("/").split("/")}
    return {u.code: u for u in Unit.objects.filter(code__in=codes)}


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


# --- inspections --------------------------------------------------------------------------------------------


def inspection_get(user, inspection_id: int, perm: str = Perm.VIEW) -> Inspection:
    """404 when the inspection's position is outside the user's view, 403 when visible without perm."""
    inspection = (
        Inspection.objects.filter(pk=inspection_id)
        .select_related("position", "campaign", "template", "signed_by", "countersigned_by")
        .first()
    )
    _allow_at(user, inspection.position if inspection else None, perm, missing=f"inspection {inspection_id}")
    return inspection


def inspections_of(campaign: Campaign, user) -> QuerySet[Inspection]:
    return (
        Inspection.objects.filter(campaign=campaign)
        .filter(scope_for(user).q(Perm.VIEW, "position__path"))
        .select_related("position", "template")
        .order_by("position__path", "sequence")
    )


def answers_by_item(inspection: Inspection) -> dict[int, object]:
    return {a.item_id: a for a in inspection.answers.all()}


def photos_by_item(inspection: Inspection) -> dict[int, list[Photo]]:
    out = defaultdict(list)
    for photo in inspection.photos.all():
        out[photo.item_id].append(photo)
    return out


def photo_get(user, photo_id: int) -> Photo:
    photo = Photo.objects.filter(pk=photo_id).select_related("unit").first()
    _allow_at(user, photo.unit if photo else None, Perm.VIEW, missing="photo")
    return photo


# --- findings -----------------------------------------------------------------------------------------------


def findings_visible(user, *, unit: Unit | None = None, status: str = "", severity: str = "") -> QuerySet:
    qs = Finding.objects.filter(scope_for(user).q(Perm.VIEW, "position__path")).select_related(
        "position", "inspection", "item", "verified_by", "campaign"
    )
    if unit is not None:
        qs = qs.filter(position__path__startswith=unit.path)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    return qs.order_by("status", "deadline", "-id")


def finding_get(user, finding_id: int, perm: str = Perm.VIEW) -> Finding:
    finding = Finding.objects.filter(pk=finding_id).select_related("position", "campaign").first()
    _allow_at(user, finding.position if finding else None, perm, missing=f"finding {finding_id}")
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
    return on, _bound(on, end=True)


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
    first, last = _bound(start, end=False), _bound(end, end=True)
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


# --- incidents ----------------------------------------------------------------------------------------------


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


def incident_get(user, incident_id: int, perm: str = Perm.VIEW) -> Incident:
    incident = Incident.objects.filter(pk=incident_id).select_related("unit").first()
    _allow_at(user, incident.unit if incident else None, perm, missing=f"incident {incident_id}")
    return incident


def _bound(value, *, end: bool) -> dt.datetime:
    """A date as the start of that local day (for an end: the start of the next day, so it is inclusive)."""
    if isinstance(value, dt.datetime):
        return value
    day = value + dt.timedelta(days=1) if end else value
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def incident_counts(unit: Unit, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> dict:
    """Incidents under unit in [start, end] (dates inclusive, datetimes half-open) for the briefing pack:
    counts by type, and (nested, so they do not add to the total) by severity and people injured."""
    qs = Incident.objects.filter(
        unit__path__startswith=unit.path,
        occurred_at__gte=_bound(start, end=False),
        occurred_at__lt=_bound(end, end=True),
    )
    by_kind = Counter(qs.values_list("kind", flat=True))
    by_severity = Counter(qs.values_list("severity", flat=True))
    out: dict = {kind: by_kind.get(kind, 0) for kind in IncidentKind.values}
    out["details"] = {
        "by_severity": {s: by_severity.get(s, 0) for s in IncidentSeverity.values},
        "injured": sum(qs.values_list("injured", flat=True)),
    }
    return out


# --- readiness ----------------------------------------------------------------------------------------------


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
    from headframe.telemetry.selectors import gas_status_for_positions

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


def readiness_events(position: Unit, campaign: Campaign | None = None) -> QuerySet[ReadinessEvent]:
    qs = ReadinessEvent.objects.filter(position=position).select_related("actor", "campaign")
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return qs.order_by("-id")


# --- the production gate ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateBlock:
    campaign_id: int
    campaign_code: str
    mode: str  # reject / flag
    starts_on: dt.date
    reason: str


def production_gate(unit_ids) -> dict[int, GateBlock]:
    """{unit id: why its shift figures are gated} for work positions in an active campaign that have not been
    released. A figure for a day before the campaign started is not gated. Units in no campaign are absent."""
    out: dict[int, GateBlock] = {}
    rows = (
        CampaignPosition.objects.filter(
            position_id__in=list(unit_ids), campaign__status=CampaignStatus.ACTIVE
        )
        .filter(Q(released_at__isnull=True) | Q(revoked_at__isnull=False))
        .select_related("campaign", "position")
        .order_by("campaign__starts_on")
    )
    for cp in rows:
        campaign = cp.campaign
        reasons = "; ".join(r.get("msg", "") for r in cp.reasons[:3]) if cp.reasons else ""
        reason = _(
            "%(unit)s is not released to production after the safety inspection campaign %(campaign)s"
        ) % {
            "unit": cp.position.code,
            "campaign": campaign.code,
        }
        if reasons:
            reason = f"{reason}: {reasons}"
        previous = out.get(cp.position_id)
        # Two campaigns over one position: a rejecting one wins over a flagging one.
        if previous is None or (previous.mode == "flag" and campaign.gate_mode == "reject"):
            out[cp.position_id] = GateBlock(
                campaign.pk, campaign.code, campaign.gate_mode, campaign.starts_on, reason
            )
    return out


def flagged_actuals(user, campaign: Campaign):
    from headframe.safety.models import FlaggedActual

    return (
        FlaggedActual.objects.filter(campaign=campaign)
        .filter(scope_for(user).q(Perm.VIEW, "unit__path"))
        .select_related("unit", "entered_by")
    )
