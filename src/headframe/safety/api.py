"""Safety endpoints under /api/v1/safety/: templates, campaigns and progress, inspections (answers, sign,
countersign, photos), findings, incidents, readiness and release, exports. Parse → service/selector → serialise
(schemas in schemas.py, the answers built by outputs.py)."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse
from ninja import File, Form, Query, Router, Status, UploadedFile

from headframe.core.dates import Day
from headframe.core.downloads import XLSX_TYPE, attachment
from headframe.core.errors import ValidationFailed
from headframe.core.selectors import keyset_page
from headframe.org.selectors import unit_get
from headframe.safety import exports, selectors, services
from headframe.safety.outputs import (
    campaign_out,
    finding_out,
    incident_out,
    inspection_out,
    photo_out,
    progress_out,
    readiness_out,
    readiness_rollup_out,
    template_out,
)
from headframe.safety.schemas import (
    AnswersIn,
    CampaignCreatedOut,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignProgressOut,
    ChecklistTemplateOut,
    CloseIn,
    FindingIn,
    FindingOut,
    FindingPageOut,
    FindingPatch,
    FindingQuery,
    IncidentCountsOut,
    IncidentIn,
    IncidentOut,
    IncidentPageOut,
    IncidentPatch,
    IncidentQuery,
    InspectionDetailOut,
    InspectionOut,
    OverdueFindingOut,
    PeriodQuery,
    ReadinessBoardOut,
    ReadinessOut,
    ReadinessQuery,
    ReleaseIn,
    RepeatIn,
    SafetyPhotoOut,
    SignIn,
    TemplateIn,
    answers_in,
)

router = Router(tags=["safety"])


def _file(description: str, *content_types: str) -> dict:
    """The OpenAPI description of a route that answers with a file (declared as `response={200: None}`)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"responses": {200: {"description": description, "content": {t: binary for t in content_types}}}}


def _photo_upload(request, file: UploadedFile, **attach_to) -> Status:
    """Store an uploaded photo on what attach_to names (inspection_id and item_code, finding_id or
    incident_id): 201 with the photo."""
    photo = services.photo_add(actor=request.user, content=file.read(), filename=file.name or "", **attach_to)
    return Status(201, photo_out(photo))


# --- templates ----------------------------------------------------------------------------------------------


@router.get(
    "/templates",
    response=list[ChecklistTemplateOut],
    summary="The newest version of every checklist template",
)
def templates(request):
    return [template_out(t) for t in selectors.templates_latest()]


@router.get(
    "/templates/{code}",
    response=ChecklistTemplateOut,
    summary="A checklist template (newest version unless ?version=)",
)
def template_detail(request, code: str, version: int | None = None):
    return template_out(selectors.template_get(code, version))


@router.post(
    "/templates",
    response={201: ChecklistTemplateOut},
    summary="Publish a new version of a checklist template",
)
def template_publish(request, payload: TemplateIn):
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


@router.get("/campaigns", response=list[CampaignOut], summary="Campaigns over units you may see")
def campaigns(request):
    return [campaign_out(c) for c in selectors.campaigns_listed(request.user)]


@router.post(
    "/campaigns",
    response={201: CampaignCreatedOut},
    summary="Open a campaign: one inspection per active work position in scope",
)
def campaign_create(request, payload: CampaignIn):
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


@router.get("/campaigns/{code}", response=CampaignOut, summary="A campaign")
def campaign_detail(request, code: str):
    return campaign_out(selectors.campaign_get(request.user, code))


@router.patch(
    "/campaigns/{code}",
    response=CampaignOut,
    summary="Choose the production gate mode (planner) or close the campaign",
)
def campaign_patch(request, code: str, payload: CampaignPatch):
    campaign = selectors.campaign_get(request.user, code)
    services.campaign_update(
        actor=request.user, campaign=campaign, gate_mode=payload.gate_mode, status=payload.status
    )
    return campaign_out(campaign)


@router.get(
    "/campaigns/{code}/progress",
    response=CampaignProgressOut,
    summary="Done / failed / pending by mine and area, and the overdue list",
)
def campaign_progress(request, code: str, on: Day | None = None):
    campaign = selectors.campaign_get(request.user, code)
    return progress_out(selectors.campaign_progress(campaign, request.user, on=on))


@router.get(
    "/campaigns/{code}/inspections",
    response=list[InspectionOut],
    summary="The campaign's inspections you may see",
)
def campaign_inspections(request, code: str):
    campaign = selectors.campaign_get(request.user, code)
    return [inspection_out(i, full=False) for i in selectors.inspections_of(campaign, request.user)]


@router.post(
    "/campaigns/{code}/inspections",
    response={201: InspectionDetailOut},
    summary="Inspect a position again (its last inspection is complete)",
)
def campaign_repeat(request, code: str, payload: RepeatIn):
    campaign = selectors.campaign_get(request.user, code)
    inspection = services.inspection_repeat(
        actor=request.user, campaign=campaign, position_code=payload.position
    )
    return Status(201, inspection_out(inspection))


@router.get(
    "/campaigns/{code}/export",
    response={200: None},
    summary="Campaign progress and readiness as XLSX or PDF",
    openapi_extra=_file("The campaign as a file to save (?format=xlsx or pdf)", XLSX_TYPE, "application/pdf"),
)
def campaign_export(request, code: str, format: str = "xlsx"):
    campaign = selectors.campaign_get(request.user, code)
    if format not in ("xlsx", "pdf"):
        raise ValidationFailed(loc=("query", "format"), type="enum", params={}, key="enum.export_format")
    return attachment(*exports.campaign_export(campaign, request.user, format))


# --- inspections --------------------------------------------------------------------------------------------


@router.get(
    "/inspections/{inspection_id}",
    response=InspectionDetailOut,
    summary="An inspection with its answers and verdicts",
)
def inspection_detail(request, inspection_id: int):
    return inspection_out(selectors.inspection_get(request.user, inspection_id))


@router.put(
    "/inspections/{inspection_id}/answers",
    response=InspectionDetailOut,
    summary="Save answers (judged on the spot; all or nothing)",
)
def inspection_answers(request, inspection_id: int, payload: AnswersIn):
    inspection = services.answers_save(
        actor=request.user, inspection_id=inspection_id, answers=answers_in(payload.answers)
    )
    return inspection_out(inspection)


@router.post(
    "/inspections/{inspection_id}/sign",
    response=InspectionDetailOut,
    summary="The inspector signs (failed items become findings)",
)
def inspection_sign(request, inspection_id: int, payload: SignIn):
    inspection = services.inspection_sign(
        actor=request.user,
        inspection_id=inspection_id,
        answers=answers_in(payload.answers),
        signature=services.signature_from_data_url(payload.signature),
    )
    return inspection_out(inspection)


@router.get(
    "/inspections/{inspection_id}/pdf",
    response={200: None},
    summary="One inspection as a PDF: answers, notes, photos, signature",
    openapi_extra=_file("The inspection as a PDF file to save", "application/pdf"),
)
def inspection_pdf(request, inspection_id: int):
    return attachment(*exports.inspection_pdf(selectors.inspection_get(request.user, inspection_id)))


@router.post(
    "/inspections/{inspection_id}/countersign",
    response=InspectionDetailOut,
    summary="The shift overman countersigns",
)
def inspection_countersign(request, inspection_id: int):
    inspection = services.inspection_countersign(actor=request.user, inspection_id=inspection_id)
    return inspection_out(inspection)


@router.post(
    "/inspections/{inspection_id}/photos",
    response={201: SafetyPhotoOut},
    summary="Attach a photo (JPEG/PNG/WebP) to an item",
)
def inspection_photo(request, inspection_id: int, file: File[UploadedFile], item: Form[str] = ""):
    return _photo_upload(request, file, inspection_id=inspection_id, item_code=item)


@router.get(
    "/photos/{photo_id}",
    response={200: None},
    summary="A photo (within your scope)",
    openapi_extra=_file("The image as uploaded", "image/jpeg", "image/png", "image/webp"),
)
def photo_file(request, photo_id: int):
    photo = selectors.photo_get(request.user, photo_id)
    return FileResponse(services.photo_open(photo), content_type=photo.content_type)


# --- findings -----------------------------------------------------------------------------------------------


@router.get(
    "/findings",
    response=FindingPageOut,
    summary="Findings (open/closed, by severity, overdue), newest deadline last",
)
def findings(request, filters: Query[FindingQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    qs = selectors.findings_visible(
        request.user,
        unit=unit,
        status=filters.status,
        severity=filters.severity,
        overdue_on=(filters.on or dt.date.today()) if filters.overdue else None,
    )
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    return {"items": [finding_out(f) for f in rows], "next_cursor": next_cursor}


@router.get(
    "/findings/overdue",
    response=list[OverdueFindingOut],
    summary="Overdue findings under a unit with their escalation level",
)
def findings_overdue(request, unit: str, on: Day | None = None):
    root = unit_get(request.user, unit, loc=("query", "unit"))
    return [
        {**finding_out(o.finding), "days_overdue": o.days_overdue, "escalation_level": o.level}
        for o in selectors.overdue_findings(root, on)
    ]


@router.post(
    "/findings", response={201: FindingOut}, summary="Record a finding from a walk-round or an incident"
)
def finding_create(request, payload: FindingIn):
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


@router.get("/findings/{finding_id}", response=FindingOut, summary="A finding")
def finding_detail(request, finding_id: int):
    return finding_out(selectors.finding_get(request.user, finding_id))


@router.patch(
    "/findings/{finding_id}",
    response=FindingOut,
    summary="Change the responsible person, deadline or severity",
)
def finding_patch(request, finding_id: int, payload: FindingPatch):
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
    "/findings/{finding_id}/close",
    response=FindingOut,
    summary="Close a finding: action, evidence, verified by a safety officer",
)
def finding_close(request, finding_id: int, payload: CloseIn):
    finding = services.finding_close(
        actor=request.user,
        finding_id=finding_id,
        action_taken=payload.action_taken,
        evidence=payload.evidence,
    )
    return finding_out(finding)


@router.post(
    "/findings/{finding_id}/photos",
    response={201: SafetyPhotoOut},
    summary="Attach evidence (JPEG/PNG/WebP) to a finding",
)
def finding_photo(request, finding_id: int, file: File[UploadedFile]):
    return _photo_upload(request, file, finding_id=finding_id)


# --- incidents ----------------------------------------------------------------------------------------------


@router.get("/incidents", response=IncidentPageOut, summary="The incident register")
def incidents(request, filters: Query[IncidentQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit")) if filters.unit else None
    start = selectors.day_bound(filters.start, end=False) if filters.start else None
    end = selectors.day_bound(filters.end, end=True) if filters.end else None
    qs = selectors.incident_register(request.user, unit=unit, start=start, end=end)
    rows, next_cursor = keyset_page(qs, before=filters.before, limit=filters.limit)
    return {"items": [incident_out(i) for i in rows], "next_cursor": next_cursor}


@router.get(
    "/incidents/counts",
    response=IncidentCountsOut,
    by_alias=True,
    summary="Incidents per type (and severity) in a period, for briefings",
)
def incidents_counts(request, filters: Query[PeriodQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit"))
    return {
        "unit": unit.code,
        "from": filters.start,
        "to": filters.end,
        **selectors.incident_counts(unit, filters.start, filters.end),
    }


@router.post("/incidents", response={201: IncidentOut}, summary="Report a near miss or an incident")
def incident_report(request, payload: IncidentIn):
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


@router.get("/incidents/{incident_id}", response=IncidentOut, summary="An incident")
def incident_detail(request, incident_id: int):
    return incident_out(selectors.incident_get(request.user, incident_id))


@router.patch(
    "/incidents/{incident_id}", response=IncidentOut, summary="Investigation, root cause and linked findings"
)
def incident_patch(request, incident_id: int, payload: IncidentPatch):
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


@router.post(
    "/incidents/{incident_id}/photos", response={201: SafetyPhotoOut}, summary="Attach a photo to an incident"
)
def incident_photo(request, incident_id: int, file: File[UploadedFile]):
    return _photo_upload(request, file, incident_id=incident_id)


# --- readiness ----------------------------------------------------------------------------------------------


@router.get(
    "/readiness",
    response=ReadinessBoardOut,
    summary="Readiness of the work positions under a unit, with roll-ups per mine and area",
)
def readiness(request, filters: Query[ReadinessQuery]):
    unit = unit_get(request.user, filters.unit, loc=("query", "unit"))
    campaign = selectors.campaign_get(request.user, filters.campaign) if filters.campaign else None
    board = selectors.readiness_board(request.user, unit, campaign=campaign)
    return {
        "unit": unit.code,
        "ready": sum(s.ready for s in board.positions),
        "total": len(board.positions),
        "sites": [readiness_rollup_out(r) for r in board.sites],
        "areas": [readiness_rollup_out(r) for r in board.areas],
        "positions": [readiness_out(s) for s in board.positions],
    }


@router.post(
    "/readiness/release",
    response=ReadinessOut,
    summary="Release a ready work position to production (safety officer)",
)
def release(request, payload: ReleaseIn):
    cp = services.position_release(
        actor=request.user,
        position_code=payload.position,
        campaign_code=payload.campaign,
        note=payload.note,
    )
    unit = cp.position
    return readiness_out(selectors.readiness(unit, campaign=cp.campaign))


__all__ = ["router"]
