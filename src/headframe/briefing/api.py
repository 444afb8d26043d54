"""Briefing endpoints: /api/v1/briefing/... (meetings, packs), /api/v1/directives, /api/v1/key-tasks.

parse → service/selector → serialise. Writes run under the "api" audit channel.
"""

from __future__ import annotations

from ninja import Query, Router, Status

from headframe.briefing import selectors, services
from headframe.briefing.models import Directive, Meeting
from headframe.briefing.schemas import (
    DirectiveDetailOut,
    DirectiveIn,
    DirectivePage,
    DirectiveQuery,
    DirectiveStatusIn,
    FocusIn,
    JoinIn,
    KeyTaskIn,
    KeyTaskOut,
    KeyTaskQuery,
    KpiIn,
    KpiManualIn,
    KpiOut,
    MeetingBridgePointOut,
    MeetingIn,
    MeetingOut,
    MeetingPage,
    MeetingPatch,
    MeetingQuery,
    ReminderOut,
    ReminderQuery,
)
from headframe.core.selectors import keyset_page
from headframe.org.selectors import unit_get

router = Router(tags=["briefing"])
directives_router = Router(tags=["directives"])
key_tasks_router = Router(tags=["key tasks"])

PAGE_SIZE = 100


def _num(value):
    return float(value) if value is not None else None


# --- meetings ------------------------------------------------------------------------------------------


def meeting_out(m: Meeting, user=None) -> dict:
    """A meeting as JSON. The narrative speaks of the figures of the whole meeting unit, so only users who may
    see that pack get it (a bridge point of one company attending a group meeting does not)."""
    narrative = user is None or selectors.can_see_pack(user, m)
    return {
        "id": m.pk,
        "type": m.type,
        "title": m.title,
        "unit": m.unit.code,
        "starts_at": m.starts_at,
        "period_start": m.period_start,
        "period_end": m.period_end,
        "chair": m.chair.username if m.chair_id else None,
        "status": m.status,
        "started_at": m.started_at,
        "closed_at": m.closed_at,
        "closed_by": m.closed_by.username if m.closed_by_id else None,
        "current_agenda_item": m.current_agenda_item_id,
        "current_section": m.current_section,
        "narrative_vi": m.narrative_vi if narrative else None,
        "narrative_en": m.narrative_en if narrative else None,
        "has_pack": m.pack is not None,
        "agenda": [
            {"id": a.pk, "order": a.order, "title": a.title, "section": a.section, "presenter": a.presenter}
            for a in selectors.agenda_of(m)
        ],
        "bridge_points": [point_out(p) for p in selectors.bridge_points_of(m)],
    }


def point_out(p) -> dict:
    return {
        "code": p.bridge_point.code,
        "name": p.bridge_point.name_vi,
        "unit": p.bridge_point.unit.code,
        "attendees": p.attendees,
        "joined_at": p.joined_at,
        "last_seen_at": p.last_seen_at,
    }


@router.get("/meetings", response=MeetingPage, summary="Meetings you may see, newest first")
def meetings_list(request, q: Query[MeetingQuery]):
    # A unit one cannot see is a 404, as an unknown code: never an empty page that means "none".
    unit = unit_get(request.user, q.unit, loc=("query", "unit")) if q.unit else None
    qs = selectors.meetings_list(request.user, unit=unit, status=q.status)
    rows, next_cursor = keyset_page(qs, before=q.before, limit=PAGE_SIZE)
    items = [
        {
            "id": m.pk,
            "type": m.type,
            "title": m.title,
            "unit": m.unit.code,
            "starts_at": m.starts_at,
            "period_start": m.period_start,
            "period_end": m.period_end,
            "status": m.status,
        }
        for m in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


def _points(items):
    return [services.BridgePointIn(p.code, p.attendees) for p in items]


def _agenda(items):
    return [services.AgendaItemIn(a.title, a.section, a.presenter) for a in items]


@router.post("/meetings", response={201: MeetingOut}, summary="Call a meeting (planner of its unit)")
def meeting_create(request, payload: MeetingIn):
    m = services.meeting_create(
        actor=request.user,
        unit_code=payload.unit,
        type=payload.type,
        title=payload.title,
        starts_at=payload.starts_at,
        period_start=payload.period_start,
        period_end=payload.period_end,
        chair=payload.chair,  # a username: the service refuses one who may not see the unit
        bridge_points=_points(payload.bridge_points),
        agenda=_agenda(payload.agenda),
    )
    return Status(201, meeting_out(m, request.user))


@router.get(
    "/meetings/{meeting_id}", response=MeetingOut, summary="A meeting with its agenda and bridge points"
)
def meeting_detail(request, meeting_id: int):
    return meeting_out(selectors.meeting_get(request.user, meeting_id), request.user)


@router.patch(
    "/meetings/{meeting_id}",
    response=MeetingOut,
    summary="Change a meeting, its narrative, agenda or bridge points (409 once closed)",
)
def meeting_patch(request, meeting_id: int, payload: MeetingPatch):
    m = selectors.meeting_get(request.user, meeting_id)
    data = payload.dict(exclude_unset=True)
    points = data.pop("bridge_points", None)
    agenda = data.pop("agenda", None)
    m = services.meeting_update(
        actor=request.user,
        meeting=m,
        changes=data,
        bridge_points=_points(payload.bridge_points) if points is not None else None,
        agenda=_agenda(payload.agenda) if agenda is not None else None,
    )
    return meeting_out(selectors.meeting_get(request.user, m.pk), request.user)


@router.post(
    "/meetings/{meeting_id}/start", response=MeetingOut, summary="Open the session (planned → in session)"
)
def meeting_start(request, meeting_id: int):
    m = selectors.meeting_get(request.user, meeting_id)
    services.meeting_start(actor=request.user, meeting=m)
    return meeting_out(selectors.meeting_get(request.user, meeting_id), request.user)


@router.post(
    "/meetings/{meeting_id}/close",
    response=MeetingOut,
    summary="Close the meeting and freeze its pack (409 if already closed)",
)
def meeting_close(request, meeting_id: int):
    m = selectors.meeting_get(request.user, meeting_id)
    services.meeting_close(actor=request.user, meeting=m)
    return meeting_out(selectors.meeting_get(request.user, meeting_id), request.user)


@router.post("/meetings/{meeting_id}/focus", response=MeetingOut, summary="Move every bridge point's view")
def meeting_focus(request, meeting_id: int, payload: FocusIn):
    m = selectors.meeting_get(request.user, meeting_id)
    services.meeting_set_focus(
        actor=request.user, meeting=m, agenda_item_id=payload.agenda_item, section=payload.section
    )
    return meeting_out(selectors.meeting_get(request.user, meeting_id), request.user)


@router.post(
    "/meetings/{meeting_id}/join",
    response=MeetingBridgePointOut,
    summary="A bridge point joins the live room (again: a heartbeat)",
)
def meeting_join(request, meeting_id: int, payload: JoinIn):
    m = selectors.meeting_get(request.user, meeting_id)
    mbp = services.bridge_point_heartbeat(
        actor=request.user, meeting=m, bridge_point_code=payload.bridge_point
    )
    return point_out(mbp)


# --- directives ----------------------------------------------------------------------------------------


def directive_out(d: Directive) -> dict:
    return {
        "id": d.pk,
        "number": d.number,
        "text": d.text,
        "meeting": d.meeting_id,
        "owner_unit": d.owner_unit.code,
        "owner_person": d.owner_person.full_name if d.owner_person_id else None,
        "deadline": d.deadline,
        "priority": d.priority,
        "indicator": d.indicator.code if d.indicator_id else None,
        "key_task": d.key_task_id,
        "status": d.effective_status,
        "stored_status": d.status,
        "evidence": d.evidence,
        "done_at": d.done_at,
        "created_by": d.created_by.username if d.created_by_id else None,
        "created_at": d.created_at,
    }


def directive_detail_out(d: Directive) -> dict:
    return {
        **directive_out(d),
        "comments": [
            {
                "at": c.at,
                "author": c.author.username if c.author_id else None,
                "text": c.text,
                "new_status": c.new_status,
            }
            for c in selectors.directive_comments(d)
        ],
    }


@directives_router.get("", response=DirectivePage, summary="Directives you may see, newest first")
def directives_list(request, q: Query[DirectiveQuery]):
    meeting = selectors.meeting_get(request.user, q.meeting) if q.meeting else None
    if q.owner:
        unit_get(request.user, q.owner, loc=("query", "owner"))
    qs = selectors.directives_list(request.user, owner=q.owner, status=q.status, meeting=meeting)
    rows, next_cursor = keyset_page(qs, before=q.before, limit=PAGE_SIZE)
    return {"items": [directive_out(d) for d in rows], "next_cursor": next_cursor}


@directives_router.post("", response={201: DirectiveDetailOut}, summary="Raise a directive")
def directive_create(request, payload: DirectiveIn):
    meeting = selectors.meeting_get(request.user, payload.meeting) if payload.meeting else None
    d = services.directive_create(
        actor=request.user,
        text=payload.text,
        owner_unit_code=payload.owner_unit,
        owner_person=payload.owner_person,
        deadline=payload.deadline,
        priority=payload.priority,
        meeting=meeting,
        indicator_code=payload.indicator,
        key_task=payload.key_task,
    )
    return Status(201, directive_detail_out(selectors.directive_get(request.user, d.pk)))


@directives_router.get("/reminders", response=list[ReminderOut], summary="Open directives per owner")
def directives_reminders(request, q: Query[ReminderQuery]):
    if q.owner:
        unit_get(request.user, q.owner, loc=("query", "owner"))
    return [
        {
            "owner_unit": r.owner_unit.code,
            "owner_person": r.owner_person.full_name if r.owner_person else None,
            "overdue": [directive_out(d) for d in r.overdue],
            "due_soon": [directive_out(d) for d in r.due_soon],
            "later": [directive_out(d) for d in r.later],
        }
        for r in selectors.directives_by_owner(request.user, on=q.on, owner=q.owner)
    ]


@directives_router.get("/{directive_id}", response=DirectiveDetailOut, summary="A directive with its history")
def directive_detail(request, directive_id: int):
    return directive_detail_out(selectors.directive_get(request.user, directive_id))


@directives_router.patch(
    "/{directive_id}", response=DirectiveDetailOut, summary="Report progress: status, comment, evidence"
)
def directive_status(request, directive_id: int, payload: DirectiveStatusIn):
    d = selectors.directive_get(request.user, directive_id)
    services.directive_update_status(
        actor=request.user,
        directive=d,
        status=payload.status,
        comment=payload.comment,
        evidence=payload.evidence,
    )
    return directive_detail_out(selectors.directive_get(request.user, directive_id))


# --- key tasks -----------------------------------------------------------------------------------------


def kpi_out(v: selectors.KpiValue) -> dict:
    k = v.kpi
    return {
        "id": k.pk,
        "order": k.order,
        "name_vi": k.name_vi,
        "name_en": k.name_en,
        "kind": k.kind,
        "indicator": k.indicator.code if k.indicator_id else None,
        "measure": k.measure or None,
        "unit": k.unit.code if k.unit_id else None,
        "comparator": k.comparator,
        "target": _num(k.target),
        "value": _num(v.value),
        "unit_of_measure": v.unit_of_measure,
        "ytd_actual": _num(v.actual),
        "ytd_plan": _num(v.plan),
        "done": k.done,
        "evidence": k.evidence,
        "state": v.state,
    }


def key_task_out(s: selectors.KeyTaskStatus) -> dict:
    t = s.key_task
    return {
        "id": t.pk,
        "year": t.year,
        "number": t.number,
        "title_vi": t.title_vi,
        "title_en": t.title_en,
        "description": t.description,
        "owner_unit": t.owner_unit.code,
        "owner_person": t.owner_person.full_name if t.owner_person_id else None,
        "status": s.status,
        "as_of": s.on,
        "kpis": [kpi_out(v) for v in s.kpis],
    }


@key_tasks_router.get("", response=list[KeyTaskOut], summary="A year's key tasks with KPI values and status")
def key_tasks_list(request, q: Query[KeyTaskQuery]):
    year = q.year or selectors.today().year
    tasks = list(selectors.key_tasks_visible(request.user, year=year))
    return [key_task_out(s) for s in selectors.key_task_statuses(tasks, on=q.on)]


@key_tasks_router.get("/{key_task_id}", response=KeyTaskOut, summary="A key task with KPI values and status")
def key_task_detail(request, key_task_id: int, q: Query[KeyTaskQuery]):
    task = selectors.key_task_get(request.user, key_task_id)
    return key_task_out(selectors.key_task_status(task, on=q.on))


@key_tasks_router.post("", response={201: KeyTaskOut}, summary="Add a key task (planner of its owner unit)")
def key_task_create(request, payload: KeyTaskIn):
    task = services.key_task_create(
        actor=request.user,
        year=payload.year,
        number=payload.number,
        title_vi=payload.title_vi,
        title_en=payload.title_en,
        description=payload.description,
        owner_unit_code=payload.owner_unit,
        owner_person=payload.owner_person,
    )
    task = selectors.key_task_by_pk(task.pk)
    return Status(201, key_task_out(selectors.key_task_status(task)))


@key_tasks_router.post("/{key_task_id}/kpis", response={201: KeyTaskOut}, summary="Add a KPI to a key task")
def kpi_create(request, key_task_id: int, payload: KpiIn):
    task = selectors.key_task_get(request.user, key_task_id)
    services.kpi_create(
        actor=request.user,
        key_task=task,
        name_vi=payload.name_vi,
        name_en=payload.name_en,
        kind=payload.kind,
        indicator_code=payload.indicator,
        measure_code=payload.measure,
        unit_code=payload.unit,
        comparator=payload.comparator,
        target=payload.target,
    )
    return Status(201, key_task_out(selectors.key_task_status(task)))


@key_tasks_router.patch(
    "/kpis/{kpi_id}", response=KpiOut, summary="Report a manual milestone (done + evidence)"
)
def kpi_update(request, kpi_id: int, payload: KpiManualIn):
    kpi = selectors.kpi_get(request.user, kpi_id)
    services.kpi_update_manual(actor=request.user, kpi=kpi, done=payload.done, evidence=payload.evidence)
    status = selectors.key_task_status(selectors.key_task_get(request.user, kpi.key_task_id))
    return kpi_out(next(v for v in status.kpis if v.kpi.pk == kpi_id))
