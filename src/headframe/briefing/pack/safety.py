"""The safety section of a pack: telemetry alarms of the period per site, incidents of the period, findings as
they stood at its end."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from headframe.briefing.pack.common import PRIORITIES, period_bounds, unit_json
from headframe.org.models import Unit
from headframe.safety import selectors as safety_selectors
from headframe.telemetry import selectors as telemetry


def _telemetry(root: Unit, start: dt.date, end: dt.date) -> dict[str, dict]:
    """{site code: alarms raised in the period by priority + KPIs} for sites under root with telemetry."""
    first, last = period_bounds(start, end)
    out = {}
    for row in telemetry.site_alarms(root_path=root.path, start=first, end=last):
        kpis = row.kpis
        out[row.site.code] = {
            **unit_json(row.site),
            "alarms": kpis.alarms,
            "by_priority": {p: row.by_priority.get(p, 0) for p in PRIORITIES},
            "per_10_min": round(kpis.per_10_min, 3),
            "flood_periods": len(kpis.flood_periods),
            "standing": len(kpis.standing),
            # Sensors out of service when the pack is built: not monitored, whatever their readings say.
            "out_of_service": [
                {
                    "sensor": sensor.code,
                    "position": sensor.position.code,
                    "until": sensor.out_of_service_until.isoformat() if sensor.out_of_service_until else None,
                    "reason": sensor.out_of_service_reason,
                }
                for sensor in row.out_of_service
            ],
            "bad_actors": [
                {"sensor": sensor, "limit": limit, "count": n} for sensor, limit, n in kpis.bad_actors[:3]
            ],
        }
    return out


def _finding_json(finding) -> dict:
    return {
        "id": finding.pk,
        "text": str(finding),
        "title": finding.title,
        "severity": finding.severity,
        "unit": finding.position.code,
        "deadline": finding.deadline.isoformat(),
        "created_at": timezone.localtime(finding.created_at).isoformat(),
        "closed_at": timezone.localtime(finding.closed_at).isoformat() if finding.closed_at else None,
    }


ITEMS_LISTED = 20


def _findings(findings) -> dict:
    findings = list(findings)
    return {"count": len(findings), "items": [_finding_json(f) for f in findings[:ITEMS_LISTED]]}


SERIOUS_INCIDENTS = ("high", "fatal")


def _incidents(counts: dict) -> dict:
    details = counts.get("details") or {}
    by_severity = details.get("by_severity") or {}
    by_kind = {k: v for k, v in counts.items() if k != "details"}
    return {
        "count": sum(by_kind.values()),
        "by": by_kind,
        "by_severity": dict(by_severity),
        "serious": sum(by_severity.get(s, 0) for s in SERIOUS_INCIDENTS),
        "injured": details.get("injured", 0),
    }


def _safety_items(unit: Unit, start: dt.date, end: dt.date) -> dict:
    """Incidents of the period; findings as they stood at its end: critical ones open at the end (raised by
    then, not closed by then), critical ones raised and closed within the period (told apart), and findings
    overdue at the end. A pack of a past period never counts what was raised after it."""
    first, last = period_bounds(start, end)
    overdue = safety_selectors.overdue_findings(unit, end)
    return {
        "available": True,
        "as_of": end.isoformat(),
        "open_critical": _findings(safety_selectors.open_critical_findings(unit, end)),
        "critical_opened_and_closed": _findings(
            safety_selectors.critical_findings_closed_within(unit, start, end)
        ),
        "overdue": {
            "count": len(overdue),
            "items": [
                {**_finding_json(o.finding), "days_overdue": o.days_overdue, "level": o.level}
                for o in overdue[:ITEMS_LISTED]
            ],
        },
        "incidents": _incidents(safety_selectors.incident_counts(unit, first, last)),
    }


def safety_sections(root: Unit, start: dt.date, end: dt.date, blocks: list[Unit]) -> dict[str, dict]:
    sites = _telemetry(root, start, end)
    out = {}
    for block in blocks:
        own = [s for s in sites.values() if s["path"].startswith(block.path)]
        totals = {p: sum(s["by_priority"][p] for s in own) for p in PRIORITIES}
        out[block.code] = {
            "sites": own,
            "alarms": sum(s["alarms"] for s in own),
            "by_priority": totals,
            "flood_periods": sum(s["flood_periods"] for s in own),
            "standing": sum(s["standing"] for s in own),
            "out_of_service": [item for s in own for item in s.get("out_of_service", [])],
            **_safety_items(block, start, end),
        }
    return out
