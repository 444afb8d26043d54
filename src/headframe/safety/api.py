"""Safety endpoints under /api/v1/safety/: templates, campaigns and progress, inspections (answers, sign,
countersign, photos), findings, incidents, readiness and release, exports. Parse → service/selector → serialise."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import FileResponse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from headframe.core.audit import channel
from headframe.core.dates import Day, Moment
from headframe.core.downloads import attachment
from headframe.core.errors import ValidationFailed
from headframe.core.selectors import keyset_page
from headframe.org.roles import Perm
from headframe.org.selectors import unit_get
from headframe.safety import exports, selectors, services
from headframe.safety.models import Campaign, Finding, Incident, Inspection, Photo

router = Router(tags=["safety"])
MAX_PAGE = 500


# --- schemas ------------------------------------------------------------------------------------------------


class ItemIn(Schema):
    code: str
    text_vi: str
    text_en: str = ""
    answer_type: str
    unit_of_measure: str = ""
    min_value: float | None = None
    max_value: float | None = None
    range_min: float | None = None
    range_max: float | None = None
    limit_code: str = ""
    critical: bool = False
    required: bool = True


class SectionIn(Schema):
    title_vi: str
    title_en: str = ""
    items: list[ItemIn]


class TemplateIn(Schema):
    code: str
    position_kind: str
    title_vi: str
    title_en: str = ""
    source: str = ""
    sections: list[SectionIn]


class CampaignIn(Schema):
    code: str
    title_vi: str
    title_en: str = ""
    units: list[str] = Field(..., description="unit codes (mines, areas or positions) in scope")
    starts_on: Day
    due_on: Day
    gate_mode: str = Field(
        "reject", description="reject | flag: what happens to figures of unreleased positions"
    )
    teams: dict[str, str] = Field(default_factory=dict, description="unit code → inspection team")


class CampaignPatch(Schema):
    gate_mode: str | None = None
    status: str | None = None


def _reading(value):
    """A number or a string as sent, for the service to read; a JSON true/false is not a reading."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float | str)):
        raise PydanticCustomError(
            "not_a_number", 'a reading is a JSON number or a decimal string such as "0,45"'
        )
    return value


Reading = Annotated[
    float | str | None,
    PlainValidator(_reading),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]


class AnswerSchema(Schema):
    item: str
    choice: str = ""
    number: Reading = None
    text: str = ""
    note: str = ""


class AnswersIn(Schema):
    answers: list[AnswerSchema]


class SignIn(Schema):
    answers: list[AnswerSchema] = Field(default_factory=list)
    signature: str = Field(
        "", description="the signature drawn on the screen, as a data:image/png;base64 URL"
    )


class RepeatIn(Schema):
    position: str


class FindingIn(Schema):
    position: str
    severity: str
    title: str
    deadline: Day
    detail: str = ""
    responsible: str = ""


class FindingPatch(Schema):
    responsible: str | None = None
    responsible_user: str | None = None
    deadline: Day | None = None
    severity: str | None = None


class CloseIn(Schema):
    action_taken: str = ""
    evidence: str = ""


class FindingQuery(Schema):
    unit: str | None = None
    status: str = ""
    severity: str = ""
    overdue: bool = False
    on: Day | None = None
    before: int | None = Field(None, description="cursor: next_cursor of the previous page")
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class IncidentIn(Schema):
    unit: str
    kind: str
    category: str
    severity: str
    occurred_at: Moment
    title: str
    description: str = ""
    people_involved: str = ""
    injured: int = Field(0, ge=0)
    immediate_actions: str = ""
    findings: list[int] = Field(default_factory=list)


class IncidentPatch(Schema):
    investigation: str | None = None
    root_cause: str | None = None
    immediate_actions: str | None = None
    severity: str | None = None
    findings: list[int] | None = None


class PeriodQuery(Schema):
    unit: str
    start: Day = Field(..., alias="from")
    end: Day = Field(..., alias="to")


class IncidentQuery(Schema):
    unit: str | None = None
    start: Day | None = Field(None, alias="from")
    end: Day | None = Field(None, alias="to")
    before: int | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class ReadinessQuery(Schema):
    unit: str
    campaign: str | None = None


class ReleaseIn(Schema):
    position: str
    campaign: str = ""
    note: str = ""


# --- serialisers --------------------------------------------------------------------------------------------


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
        "units": sorted(u.code for u in campaign.units.all()),
        "starts_on": campaign.starts_on,
        "due_on": campaign.due_on,
        "status": campaign.status,
        "gate_mode": campaign.gate_mode,
        "created_at": campaign.created_at,
    }


def _row(row) -> dict:
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
        "total": _row(progress.total),
        "sites": [
            {**_row(s), "areas": [_row(a) for a in progress.areas.get(s.unit.code, [])]}
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
        out["findings"] = [f.pk for f in inspection.findings.all().order_by("id")]
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
        "photos": [p.pk for p in finding.photos.all()],
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
        "findings": sorted(f.pk for f in incident.findings.all()),
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


def _readiness_rollup(row) -> dict:
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


def _answers(items) -> list[services.AnswerIn]:
    return [services.AnswerIn(a.item, a.choice, a.number, a.text, a.note) for a in items]


def _photo_upload(request, file: UploadedFile, **attach_to) -> Status:
    """Store an uploaded photo on what attach_to names (inspection_id and item_code, finding_id or
    incident_id): 201 with the photo."""
    with channel("api"):
        photo = services.photo_add(
            actor=request.user, content=file.read(), filename=file.name or "", **attach_to
        )
    return Status(201, photo_out(photo))


# --- templates ----------------------------------------------------------------------------------------------


@router.get("/templates", summary="The newest version of every checklist template")
def templates(request):
    return [template_out(t) for t in selectors.templates_latest()]


@router.get("/templates/{code}", summary="A checklist template (newest version unless ?version=)")
def template_detail(request, code: str, version: int | None = None):
    return template_out(selectors.template_get(code, version))


@router.post("/templates", summary="Publish a new version of a checklist template", response={201: dict})
def template_publish(request, payload: TemplateIn):
    with channel("api"):
        template = services.template_publish(
            actor=request.user,
            code=payload.code,
            position_kind=payload.position_kind,
            title_vi=payload.title_vi,
            title_en=payload.title_en,
            source=payload.source,
            sections=[s.dict() for s in payload.sections],
        )
    return Status(201, template_out(template))


# --- campaigns ----------------------------------------------------------------------------------------------


@router.get("/campaigns", summary="Campaigns over units you may see")
def campaigns(request):
    return [campaign_out(c) for c in selectors.campaigns_visible(request.user).prefetch_related("units")]


@router.post(
    "/campaigns",
    summary="Open a campaign: one inspection per active work position in scope",
    response={201: dict},
)
def campaign_create(request, payload: CampaignIn):
    with channel("api"):
        result = services.campaign_create(
            actor=request.user,
            code=payload.code,
            title_vi=payload.title_vi,
            title_en=payload.title_en,
            unit_codes=payload.units,
            starts_on=payload.starts_on,
            due_on=payload.due_on,
            gate_mode=payload.gate_mode,
            teams=payload.teams,
        )
    return Status(
        201, {**campaign_out(result.campaign), "inspections": result.inspections, "skipped": result.skipped}
    )


@router.get("/campaigns/{code}", summary="A campaign")
def campaign_detail(request, code: str):
    return campaign_out(selectors.campaign_get(request.user, code))


@router.patch("/campaigns/{code}", summary="Choose the production gate mode (planner) or close the campaign")
def campaign_patch(request, code: str, payload: CampaignPatch):
    campaign = selectors.campaign_get(request.user, code)
    with channel("api"):
        services.campaign_update(
            actor=request.user, campaign=campaign, gate_mode=payload.gate_mode, status=payload.status
        )
    return campaign_out(campaign)


@router.get(
    "/campaigns/{code}/progress", summary="Done / failed / pending by mine and area, and the overdue list"
)
def campaign_progress(request, code: str, on: Day | None = None):
    campaign = selectors.campaign_get(request.user, code)
    return progress_out(selectors.campaign_progress(campaign, request.user, on=on))


@router.get("/campaigns/{code}/inspections", summary="The campaign's inspections you may see")
def campaign_inspections(request, code: str):
    campaign = selectors.campaign_get(request.user, code)
    return [
        inspection_out(i, full=False)
        for i in selectors.inspections_of(campaign, request.user).select_related(
            "signed_by", "countersigned_by"
        )
    ]


@router.post(
    "/campaigns/{code}/inspections",
    summary="Inspect a position again (its last inspection is complete)",
    response={201: dict},
)
def campaign_repeat(request, code: str, payload: RepeatIn):
    campaign = selectors.campaign_get(request.user, code)
    with channel("api"):
        inspection = services.inspection_repeat(
            actor=request.user, campaign=campaign, position_code=payload.position
        )
    return Status(201, inspection_out(inspection))


@router.get("/campaigns/{code}/export", summary="Campaign progress and readiness as XLSX or PDF")
def campaign_export(request, code: str, format: str = "xlsx"):
    campaign = selectors.campaign_get(request.user, code)
    if format not in ("xlsx", "pdf"):
        raise ValidationFailed("format must be xlsx or pdf", loc=("query", "format"), type="enum")
    return attachment(*exports.campaign_export(campaign, request.user, format))


# --- inspections --------------------------------------------------------------------------------------------


@router.get("/inspections/{inspection_id}", summary="An inspection with its answers and verdicts")
def inspection_detail(request, inspection_id: int):
    return inspection_out(selectors.inspection_get(request.user, inspection_id))


@router.put(
    "/inspections/{inspection_id}/answers", summary="Save answers (judged on the spot; all or nothing)"
)
def inspection_answers(request, inspection_id: int, payload: AnswersIn):
    with channel("api"):
        inspection = services.answers_save(
            actor=request.user, inspection_id=inspection_id, answers=_answers(payload.answers)
        )
    return inspection_out(inspection)


@router.post(
    "/inspections/{inspection_id}/sign", summary="The inspector signs (failed items become findings)"
)
def inspection_sign(request, inspection_id: int, payload: SignIn):
    with channel("api"):
        inspection = services.inspection_sign(
            actor=request.user,
            inspection_id=inspection_id,
            answers=_answers(payload.answers),
            signature=services.signature_from_data_url(payload.signature),
        )
    return inspection_out(inspection)


@router.get(
    "/inspections/{inspection_id}/pdf", summary="One inspection as a PDF: answers, notes, photos, signature"
)
def inspection_pdf(request, inspection_id: int):
    return attachment(*exports.inspection_pdf(selectors.inspection_get(request.user, inspection_id)))


@router.post("/inspections/{inspection_id}/countersign", summary="The shift overman countersigns")
def inspection_countersign(request, inspection_id: int):
    with channel("api"):
        inspection = services.inspection_countersign(actor=request.user, inspection_id=inspection_id)
    return inspection_out(inspection)


@router.post(
    "/inspections/{inspection_id}/photos",
    summary="Attach a photo (JPEG/PNG/WebP) to an item",
    response={201: dict},
)
def inspection_photo(request, inspection_id: int, file: File[UploadedFile], item: Form[str] = ""):
    return _photo_upload(request, file, inspection_id=inspection_id, item_code=item)


@router.get("/photos/{photo_id}", summary="A photo (within your scope)")
def photo_file(request, photo_id: int):
    photo = selectors.photo_get(request.user, photo_id)
    return FileResponse(services.photo_open(photo), content_type=photo.content_type)


# --- findings -----------------------------------------------------------------------------------------------


@router.get("/findings", summary="Findings (open/closed, by severity, overdue), newest deadline last")
def findings(request, filters: Query[FindingQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    qs = selectors.findings_visible(request.user, unit=unit, status=filters.status, severity=filters.severity)
    if filters.overdue:
        qs = qs.filter(status="open", deadline__lt=filters.on or dt.date.today())
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    return {"items": [finding_out(f) for f in rows], "next_cursor": next_cursor}


@router.get("/findings/overdue", summary="Overdue findings under a unit with their escalation level")
def findings_overdue(request, unit: str, on: Day | None = None):
    root = unit_get(request.user, unit, loc=("query", "unit"))
    return [
        {**finding_out(o.finding), "days_overdue": o.days_overdue, "escalation_level": o.level}
        for o in selectors.overdue_findings(root, on)
    ]


@router.post("/findings", summary="Record a finding from a walk-round or an incident", response={201: dict})
def finding_create(request, payload: FindingIn):
    with channel("api"):
        finding = services.finding_create(
            actor=request.user,
            position_code=payload.position,
            severity=payload.severity,
            title=payload.title,
            deadline=payload.deadline,
            detail=payload.detail,
            responsible=payload.responsible,
        )
    return Status(201, finding_out(finding))


@router.get("/findings/{finding_id}", summary="A finding")
def finding_detail(request, finding_id: int):
    return finding_out(selectors.finding_get(request.user, finding_id))


@router.patch("/findings/{finding_id}", summary="Change the responsible person, deadline or severity")
def finding_patch(request, finding_id: int, payload: FindingPatch):
    with channel("api"):
        finding = services.finding_update(
            actor=request.user,
            finding_id=finding_id,
            responsible=payload.responsible,
            responsible_user=payload.responsible_user,
            deadline=payload.deadline,
            severity=payload.severity,
        )
    return finding_out(finding)


@router.post(
    "/findings/{finding_id}/close", summary="Close a finding: action, evidence, verified by a safety officer"
)
def finding_close(request, finding_id: int, payload: CloseIn):
    with channel("api"):
        finding = services.finding_close(
            actor=request.user,
            finding_id=finding_id,
            action_taken=payload.action_taken,
            evidence=payload.evidence,
        )
    return finding_out(finding)


@router.post(
    "/findings/{finding_id}/photos",
    summary="Attach evidence (JPEG/PNG/WebP) to a finding",
    response={201: dict},
)
def finding_photo(request, finding_id: int, file: File[UploadedFile]):
    return _photo_upload(request, file, finding_id=finding_id)


# --- incidents ----------------------------------------------------------------------------------------------


@router.get("/incidents", summary="The incident register")
def incidents(request, filters: Query[IncidentQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    start = selectors._bound(filters.start, end=False) if filters.start else None
    end = selectors._bound(filters.end, end=True) if filters.end else None
    qs = selectors.incidents_visible(request.user, unit=unit, start=start, end=end).prefetch_related(
        "findings"
    )
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    return {"items": [incident_out(i) for i in rows], "next_cursor": next_cursor}


@router.get("/incidents/counts", summary="Incidents per type (and severity) in a period, for briefings")
def incidents_counts(request, filters: Query[PeriodQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit"))
    return {
        "unit": unit.code,
        "from": filters.start,
        "to": filters.end,
        **selectors.incident_counts(unit, filters.start, filters.end),
    }


@router.post("/incidents", summary="Report a near miss or an incident", response={201: dict})
def incident_report(request, payload: IncidentIn):
    with channel("api"):
        incident = services.incident_report(
            actor=request.user,
            unit_code=payload.unit,
            kind=payload.kind,
            category=payload.category,
            severity=payload.severity,
            occurred_at=payload.occurred_at,
            title=payload.title,
            description=payload.description,
            people_involved=payload.people_involved,
            injured=payload.injured,
            immediate_actions=payload.immediate_actions,
            finding_ids=payload.findings,
        )
    return Status(201, incident_out(incident))


@router.get("/incidents/{incident_id}", summary="An incident")
def incident_detail(request, incident_id: int):
    return incident_out(selectors.incident_get(request.user, incident_id))


@router.patch("/incidents/{incident_id}", summary="Investigation, root cause and linked findings")
def incident_patch(request, incident_id: int, payload: IncidentPatch):
    with channel("api"):
        incident = services.incident_update(
            actor=request.user,
            incident_id=incident_id,
            investigation=payload.investigation,
            root_cause=payload.root_cause,
            immediate_actions=payload.immediate_actions,
            severity=payload.severity,
            finding_ids=payload.findings,
        )
    return incident_out(incident)


@router.post("/incidents/{incident_id}/photos", summary="Attach a photo to an incident", response={201: dict})
def incident_photo(request, incident_id: int, file: File[UploadedFile]):
    return _photo_upload(request, file, incident_id=incident_id)


# --- readiness ----------------------------------------------------------------------------------------------


@router.get(
    "/readiness", summary="Readiness of the work positions under a unit, with roll-ups per mine and area"
)
def readiness(request, filters: Query[ReadinessQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit"))
    campaign = selectors.campaign_get(request.user, filters.campaign) if filters.campaign else None
    board = selectors.readiness_board(request.user, unit, campaign=campaign)
    return {
        "unit": unit.code,
        "ready": sum(s.ready for s in board.positions),
        "total": len(board.positions),
        "sites": [_readiness_rollup(r) for r in board.sites],
        "areas": [_readiness_rollup(r) for r in board.areas],
        "positions": [readiness_out(s) for s in board.positions],
    }


@router.post("/readiness/release", summary="Release a ready work position to production (safety officer)")
def release(request, payload: ReleaseIn):
    with channel("api"):
        cp = services.position_release(
            actor=request.user,
            position_code=payload.position,
            campaign_code=payload.campaign,
            note=payload.note,
        )
    unit = cp.position
    return readiness_out(selectors.readiness(unit, campaign=cp.campaign))


__all__ = ["Perm", "router"]
