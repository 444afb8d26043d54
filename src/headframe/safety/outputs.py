"""The safety API's answers built from the records (`*_out`), each in the shape of its output schema in
schemas.py (ChecklistTemplateOut, CampaignOut, InspectionDetailOut, FindingOut…)."""

from __future__ import annotations

from headframe.safety import selectors
from headframe.safety.models import Campaign, Finding, Incident, Inspection, Photo


def template_out(template) -> dict:
    return {
        "code": template.code,
        "version": template.version,
        "position_kind": template.position_kind,
        "title_vi": template.title_vi,
        "title_en": template.title_en,
        "source": template.source,
        "sections": [
            {
                "title_vi": s["section"].title_vi,
                "title_en": s["section"].title_en,
                "items": [
                    {
                        "code": i.code,
                        "text_vi": i.text_vi,
                        "text_en": i.text_en,
                        "answer_type": i.answer_type,
                        "unit_of_measure": i.unit_of_measure,
                        "min_value": i.min_value,
                        "max_value": i.max_value,
                        "range_min": i.range_min,
                        "range_max": i.range_max,
                        "limit_code": i.limit_code,
                        "critical": i.critical,
                        "required": i.required,
                    }
                    for i in s["items"]
                ],
            }
            for s in selectors.template_structure(template)
        ],
    }


def campaign_out(campaign: Campaign) -> dict:
    return {
        "code": campaign.code,
        "title_vi": campaign.title_vi,
        "title_en": campaign.title_en,
        "units": sorted(u.code for u in selectors.campaign_units(campaign)),
        "starts_on": campaign.starts_on,
        "due_on": campaign.due_on,
        "status": campaign.status,
        "gate_mode": campaign.gate_mode,
        "created_at": campaign.created_at,
    }


def _progress_row(row) -> dict:
    return {
        "unit": row.unit.code,
        "name": row.unit.name,
        "total": row.total,
        "done": row.done,
        "failed": row.failed,
        "pending": row.pending,
        "ready": row.ready,
        "released": row.released,
        "overdue": row.overdue,
    }


def progress_out(progress) -> dict:
    return {
        "campaign": progress.campaign.code,
        "total": _progress_row(progress.total),
        "sites": [
            {**_progress_row(s), "areas": [_progress_row(a) for a in progress.areas.get(s.unit.code, [])]}
            for s in progress.sites
        ],
        "overdue": [
            {
                "position": p.campaign_position.position.code,
                "inspection": p.inspection.pk if p.inspection else None,
                "due_on": p.inspection.due_on if p.inspection else None,
                "team": p.campaign_position.team,
            }
            for p in progress.overdue
        ],
    }


def inspection_out(inspection: Inspection, *, full: bool = True) -> dict:
    out = {
        "id": inspection.pk,
        "campaign": inspection.campaign.code if inspection.campaign else None,
        "position": inspection.position.code,
        "template": {"code": inspection.template.code, "version": inspection.template.version},
        "sequence": inspection.sequence,
        "team": inspection.team,
        "due_on": inspection.due_on,
        "status": inspection.status,
        "result": inspection.result or None,
        "signed_by": inspection.signed_by.username if inspection.signed_by else None,
        "signed_at": inspection.signed_at,
        "countersigned_by": inspection.countersigned_by.username if inspection.countersigned_by else None,
        "countersigned_at": inspection.countersigned_at,
        "signature": inspection.signature_id,
    }
    if full:
        answers = selectors.answers_by_item(inspection)
        photos = selectors.photos_by_item(inspection)
        out["answers"] = [
            {
                "item": item.code,
                "answer_type": item.answer_type,
                "critical": item.critical,
                "choice": a.choice if a else "",
                "number": a.number if a else None,
                "text": a.text if a else "",
                "note": a.note if a else "",
                "passed": a.passed if a else None,
                "verdict": a.verdict if a else "",
                "photos": [p.pk for p in photos.get(item.pk, [])],
            }
            for s in selectors.template_structure(inspection.template)
            for item in s["items"]
            for a in [answers.get(item.pk)]
        ]
        out["findings"] = [f.pk for f in selectors.inspection_findings(inspection)]
    return out


def finding_out(finding: Finding) -> dict:
    return {
        "id": finding.pk,
        "position": finding.position.code,
        "campaign": finding.campaign.code if finding.campaign else None,
        "inspection": finding.inspection_id,
        "item": finding.item.code if finding.item else None,
        "severity": finding.severity,
        "title": finding.title,
        "detail": finding.detail,
        "responsible": finding.responsible,
        "responsible_user": finding.responsible_user.username if finding.responsible_user else None,
        "deadline": finding.deadline,
        "status": finding.status,
        "action_taken": finding.action_taken,
        "evidence": finding.evidence,
        "closed_at": finding.closed_at,
        "verified_by": finding.verified_by.username if finding.verified_by else None,
        "photos": [p.pk for p in selectors.finding_photos(finding)],
    }


def incident_out(incident: Incident) -> dict:
    return {
        "id": incident.pk,
        "unit": incident.unit.code,
        "kind": incident.kind,
        "category": incident.category,
        "severity": incident.severity,
        "occurred_at": incident.occurred_at,
        "title": incident.title,
        "description": incident.description,
        "people_involved": incident.people_involved,
        "injured": incident.injured,
        "immediate_actions": incident.immediate_actions,
        "investigation": incident.investigation,
        "root_cause": incident.root_cause,
        "findings": sorted(f.pk for f in selectors.incident_findings(incident)),
        "reported_by": incident.reported_by.username if incident.reported_by else None,
    }


def readiness_out(state) -> dict:
    return {
        "position": state.position.code,
        "name": state.position.name,
        "campaign": state.campaign.code if state.campaign else None,
        "state": state.state,
        "ready": state.ready,
        "released": state.released,
        "released_by": state.released_by or None,
        "released_at": state.released_at,
        "inspection": state.inspection.pk if state.inspection else None,
        "inspection_outcome": state.outcome,
        "has_gas_sensors": state.has_gas_sensors,
        "reasons": state.reasons,
    }


def readiness_rollup_out(row) -> dict:
    return {"unit": row.unit.code, "total": row.total, "ready": row.ready, "released": row.released}


def photo_out(photo: Photo) -> dict:
    return {
        "id": photo.pk,
        "content_type": photo.content_type,
        "size": photo.size,
        "sha256": photo.sha256,
        "item": photo.item.code if photo.item else None,
        "url": f"/api/v1/safety/photos/{photo.pk}",
    }
