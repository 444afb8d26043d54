"""Meetings and their live room: create, edit, start, steer, close (freezing the pack), bridge points joining."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from headframe.briefing.messages import label
from headframe.briefing.models import (
    AgendaItem,
    Meeting,
    MeetingBridgePoint,
    MeetingStatus,
    MeetingType,
    Section,
)
from headframe.briefing.pack.build import pack_build
from headframe.briefing.services._common import (
    _allowed,
    _chair,
    _check_days,
    _clean_texts,
    _refuse_if_closed,
    _require,
)
from headframe.core import live_bus
from headframe.core.audit import audit_record, snapshot
from headframe.core.errors import Conflict, ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.core.text import check_clean_text
from headframe.org.models import BridgePoint, Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_named

# A screen heartbeats every 15 s and the room shows a bridge point offline 45 s after its last one
# (briefing.pack.views.ONLINE_WITHIN): a heartbeat after a longer gap than this may bring it back online.
HEARTBEAT_BACK_AFTER = dt.timedelta(seconds=30)

MEETING_EDITABLE = {
    "type",
    "title",
    "starts_at",
    "period_start",
    "period_end",
    "chair",
    "narrative_vi",
    "narrative_en",
}


@dataclass(frozen=True)
class BridgePointIn:
    code: str
    attendees: str = ""


@dataclass(frozen=True)
class AgendaItemIn:
    title: str
    section: str = Section.OTHER
    presenter: str = ""


# --- helpers -------------------------------------------------------------------------------------------


def _can_run(actor, meeting: Meeting) -> bool:
    if actor is not None and meeting.chair_id and meeting.chair_id == getattr(actor, "pk", None):
        return True
    return _allowed(actor, (Perm.PLAN, Perm.MANAGE), meeting.unit.path)


def _require_run(actor, meeting: Meeting, key: str) -> None:
    """`key`: permission_denied.<change|start|close|steer>_meeting."""
    if not _can_run(actor, meeting):
        raise PermissionDenied(
            loc=("path", "meeting_id"), type="permission_denied", key=key, params={"unit": meeting.unit.code}
        )


def _locked(meeting: Meeting) -> Meeting:
    """Re-read the meeting under a row lock, so two concurrent closes (or a close and an edit) serialise."""
    return Meeting.objects.select_for_update(of=("self",)).select_related("unit").get(pk=meeting.pk)


def _check_bridge_points(
    actor, meeting_unit: Unit, points: list[BridgePointIn]
) -> list[tuple[BridgePoint, str]]:
    """Bridge points by code; each must belong to the meeting's unit line (its subtree or above it) and be
    visible to the actor (one it may not see is refused like an unknown one)."""
    scope = scope_for(actor)
    items, out, seen = [], [], set()
    by_code = {
        bp.code: bp
        for bp in BridgePoint.objects.filter(code__in=[p.code for p in points]).select_related("unit")
    }
    for n, p in enumerate(points):
        loc = ("body", "bridge_points", n, "code")
        bp = by_code.get(p.code)
        if bp is None or not scope.allows(Perm.VIEW, bp.unit.path):
            items.append(
                ErrorItem(
                    loc,
                    type="unknown_bridge_point",
                    params={"bridge_point": repr(p.code)},
                    key="unknown_bridge_point.named",
                )
            )
            continue
        try:
            check_clean_text(p.attendees, loc=("body", "bridge_points", n, "attendees"), multiline=True)
        except ValidationFailed as exc:
            items.extend(exc.items)
            continue
        if p.code in seen:
            items.append(
                ErrorItem(
                    loc, type="duplicate", params={"bridge_point": p.code}, key="duplicate.bridge_point"
                )
            )
            continue
        seen.add(p.code)
        if not (bp.unit.path.startswith(meeting_unit.path) or meeting_unit.path.startswith(bp.unit.path)):
            items.append(
                ErrorItem(
                    loc,
                    type="bridge_point_outside_unit",
                    params={"bridge_point": p.code, "unit": bp.unit.code, "meeting_unit": meeting_unit.code},
                    key="bridge_point_outside_unit.named",
                )
            )
            continue
        out.append((bp, p.attendees))
    if items:
        raise ValidationFailed(items=items)
    return out


def _check_agenda(agenda: list[AgendaItemIn]) -> None:
    """Every item has a title and a known section; titles and presenters hold no hidden characters."""
    items = []
    for n, a in enumerate(agenda):
        if not (a.title or "").strip():
            items.append(ErrorItem(("body", "agenda", n, "title"), "", "missing", {}, "missing.agenda_title"))
        try:
            _clean_texts({"title": a.title, "presenter": a.presenter}, loc=("body", "agenda", n))
        except ValidationFailed as exc:
            items.extend(exc.items)
        if a.section not in Section.values:
            items.append(
                ErrorItem(
                    ("body", "agenda", n, "section"),
                    type="enum",
                    params={"section": repr(a.section), "expected": list(Section.values)},
                    key="enum.section",
                )
            )
    if items:
        raise ValidationFailed(items=items)


def _replace_bridge_points(actor, meeting: Meeting, points: list[tuple[BridgePoint, str]]) -> None:
    current = {mbp.bridge_point_id: mbp for mbp in meeting.bridge_points.all()}
    wanted = {bp.pk for bp, _ in points}
    for bp_id, mbp in current.items():
        if bp_id not in wanted:
            audit_record(
                actor=actor, action="delete", obj=mbp, unit_path=meeting.unit.path, before=snapshot(mbp)
            )
            mbp.delete()
    for bp, attendees in points:
        mbp = current.get(bp.pk)
        if mbp is None:
            audited_create(
                actor=actor,
                obj=MeetingBridgePoint(meeting=meeting, bridge_point=bp, attendees=attendees),
                unit_path=meeting.unit.path,
            )
        else:
            audited_update(
                actor=actor, obj=mbp, changes={"attendees": attendees}, unit_path=meeting.unit.path
            )


def _replace_agenda(actor, meeting: Meeting, agenda: list[AgendaItemIn]) -> None:
    """Agenda items are matched by position: item n keeps its row (and the live room's focus on it)."""
    current = {a.order: a for a in meeting.agenda_items.all()}
    for order, a in enumerate(agenda, start=1):
        changes = {"title": a.title.strip(), "section": a.section, "presenter": a.presenter}
        item = current.pop(order, None)
        if item is None:
            audited_create(
                actor=actor,
                obj=AgendaItem(meeting=meeting, order=order, **changes),
                unit_path=meeting.unit.path,
            )
        else:
            audited_update(actor=actor, obj=item, changes=changes, unit_path=meeting.unit.path)
    for item in current.values():
        if meeting.current_agenda_item_id == item.pk:
            Meeting.objects.filter(pk=meeting.pk).update(current_agenda_item=None)
            meeting.current_agenda_item = None
        audit_record(
            actor=actor, action="delete", obj=item, unit_path=meeting.unit.path, before=snapshot(item)
        )
        item.delete()


# --- meetings ------------------------------------------------------------------------------------------


@transaction.atomic
def meeting_create(
    *,
    actor,
    unit_code: str,
    title: str,
    starts_at: dt.datetime,
    period_start: dt.date,
    period_end: dt.date,
    type: str = MeetingType.MONTHLY,
    chair=None,
    bridge_points: list[BridgePointIn] = (),
    agenda: list[AgendaItemIn] = (),
) -> Meeting:
    unit = unit_named(actor, unit_code, loc=("body", "unit"))
    _require(
        actor,
        (Perm.PLAN, Perm.MANAGE),
        unit.path,
        key="permission_denied.call_meetings",
        params={"unit": unit.code},
        loc=("body", "unit"),
    )
    _check_days({"starts_at": starts_at, "period_start": period_start, "period_end": period_end})
    _clean_texts({"title": title})
    if period_end < period_start:
        raise ValidationFailed(
            loc=("body", "period_end"), type="period_order", params={}, key="period_order.end"
        )
    chair = _chair(actor, chair, unit)
    points = _check_bridge_points(actor, unit, list(bridge_points))
    _check_agenda(list(agenda))
    meeting = Meeting(
        unit=unit,
        type=type,
        title=title,
        starts_at=starts_at,
        period_start=period_start,
        period_end=period_end,
        chair=chair,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audited_create(actor=actor, obj=meeting, unit_path=unit.path)
    _replace_bridge_points(actor, meeting, points)
    _replace_agenda(actor, meeting, list(agenda))
    return meeting


@transaction.atomic
def meeting_update(
    *,
    actor,
    meeting: Meeting,
    changes: dict | None = None,
    bridge_points: list[BridgePointIn] | None = None,
    agenda: list[AgendaItemIn] | None = None,
) -> Meeting:
    """Change a meeting's fields (incl. the narrative), and with `bridge_points`/`agenda` replace those
    lists. A closed meeting is frozen: any change is a 409."""
    meeting = _locked(meeting)
    changes = dict(changes or {})
    unknown = set(changes) - MEETING_EDITABLE
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(
            loc=("body", name), type="read_only", params={"field": name}, key="read_only.field"
        )
    _require_run(actor, meeting, "permission_denied.change_meeting")
    for name in ("type", "title", "starts_at", "period_start", "period_end"):
        if name in changes and changes[name] in (None, ""):
            raise ValidationFailed(
                loc=("body", name), type="missing", params={"field": name}, key="missing.emptied"
            )
    what = "fields" if changes else ("agenda" if agenda is not None else "bridge_points")
    _refuse_if_closed(meeting, what, sorted(changes))
    _check_days({k: v for k, v in changes.items() if k in ("starts_at", "period_start", "period_end")})
    _clean_texts({k: v for k, v in changes.items() if k in ("title", "narrative_vi", "narrative_en")})
    if "chair" in changes:
        changes["chair"] = _chair(actor, changes["chair"], meeting.unit)
    period_start = changes.get("period_start", meeting.period_start)
    if changes.get("period_end", meeting.period_end) < period_start:
        raise ValidationFailed(
            loc=("body", "period_end"), type="period_order", params={}, key="period_order.end"
        )
    if bridge_points is not None:
        points = _check_bridge_points(actor, meeting.unit, list(bridge_points))
    if agenda is not None:
        _check_agenda(list(agenda))
    audited_update(actor=actor, obj=meeting, changes=changes, unit_path=meeting.unit.path)
    if bridge_points is not None:
        _replace_bridge_points(actor, meeting, points)
    if agenda is not None:
        _replace_agenda(actor, meeting, list(agenda))
    _room_changed(meeting)
    return meeting


@transaction.atomic
def meeting_start(*, actor, meeting: Meeting, now: dt.datetime | None = None) -> Meeting:
    meeting = _locked(meeting)
    _require_run(actor, meeting, "permission_denied.start_meeting")
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict(
            loc=("path", "meeting_id"),
            type="meeting_not_planned",
            params={"meeting": str(meeting.pk), "status": label(MeetingStatus(meeting.status), lower=True)},
            key="meeting_not_planned.status",
        )
    first = meeting.agenda_items.order_by("order").first()
    audited_update(
        actor=actor,
        obj=meeting,
        action="update",
        changes={
            "status": MeetingStatus.IN_SESSION,
            "started_at": now or timezone.now(),
            "current_agenda_item": first,
            "current_section": first.section if first else Section.PRODUCTION,
        },
        unit_path=meeting.unit.path,
    )
    _room_changed(meeting)
    return meeting


@transaction.atomic
def meeting_close(*, actor, meeting: Meeting, now: dt.datetime | None = None) -> Meeting:
    """in session → closed; freezes the briefing pack into meeting.pack. Closing twice is a 409. A pack that
    cannot be built fails the close: the meeting stays in session and nothing is frozen."""
    meeting = _locked(meeting)
    _require_run(actor, meeting, "permission_denied.close_meeting")
    if meeting.status == MeetingStatus.CLOSED:
        params = {"meeting": str(meeting.pk), "when": meeting.closed_at}
        if meeting.closed_by_id:
            params["user"] = meeting.closed_by.username
        raise Conflict(
            loc=("path", "meeting_id"),
            type="meeting_closed",
            params=params,
            key="meeting_closed.closed_by" if meeting.closed_by_id else "meeting_closed.by_system",
        )
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict(
            loc=("path", "meeting_id"),
            type="meeting_not_in_session",
            params={"meeting": str(meeting.pk)},
            key="meeting_not_in_session.not_started",
        )
    audited_update(
        actor=actor,
        obj=meeting,
        changes={
            "status": MeetingStatus.CLOSED,
            "closed_at": now or timezone.now(),
            "closed_by": actor if getattr(actor, "pk", None) else None,
            "current_agenda_item": None,
            "current_section": "",
        },
        unit_path=meeting.unit.path,
    )
    # Built once the meeting is closed (same transaction, same figures), so the frozen pack says so.
    pack = pack_build(meeting)
    # The pack is stored apart from the audited diff (it can be large); the audit row notes its presence.
    Meeting.objects.filter(pk=meeting.pk).update(pack=pack)
    meeting.pack = pack
    audit_record(
        actor=actor,
        action="update",
        obj=meeting,
        unit_path=meeting.unit.path,
        after={"pack": "frozen", "pack_sections": sorted(pack)},
    )
    _room_changed(meeting)
    return meeting


@transaction.atomic
def meeting_set_focus(
    *, actor, meeting: Meeting, agenda_item_id: int | None = None, section: str | None = None
) -> Meeting:
    """The chair moves every bridge point's view: to an agenda item (its section follows unless given) and/or
    a pack section."""
    meeting = _locked(meeting)
    _require_run(actor, meeting, "permission_denied.steer_meeting")
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict(
            loc=("path", "meeting_id"),
            type="meeting_not_in_session",
            params={"meeting": str(meeting.pk)},
            key="meeting_not_in_session.meeting",
        )
    changes = {}
    if agenda_item_id is not None:
        item = meeting.agenda_items.filter(pk=agenda_item_id).first()
        if item is None:
            raise ValidationFailed(
                loc=("body", "agenda_item"),
                type="unknown_agenda_item",
                params={"item": str(agenda_item_id)},
                key="unknown_agenda_item.meeting",
            )
        changes["current_agenda_item"] = item
        changes["current_section"] = item.section
    if section is not None:
        if section not in Section.values:
            raise ValidationFailed(
                loc=("body", "section"),
                type="enum",
                params={"section": repr(section), "expected": list(Section.values)},
                key="enum.section",
            )
        changes["current_section"] = section
    if not changes:
        raise ValidationFailed(loc=("body",), type="missing", params={}, key="missing.agenda_or_section")
    audited_update(actor=actor, obj=meeting, changes=changes, unit_path=meeting.unit.path)
    _room_changed(meeting)
    return meeting


def _meeting_point(actor, meeting: Meeting, bridge_point_code: str) -> MeetingBridgePoint:
    mbp = (
        meeting.bridge_points.select_related("bridge_point__unit")
        .filter(bridge_point__code=bridge_point_code)
        .first()
    )
    if mbp is None:
        raise ValidationFailed(
            loc=("body", "bridge_point"),
            type="unknown_bridge_point",
            params={"bridge_point": repr(bridge_point_code)},
            key="unknown_bridge_point.meeting",
        )
    _require(
        actor,
        (Perm.VIEW,),
        mbp.bridge_point.unit.path,
        key="permission_denied.join_bridge_point",
        params={"bridge_point": bridge_point_code},
        loc=("body", "bridge_point"),
    )
    if meeting.status == MeetingStatus.CLOSED:
        raise Conflict(
            loc=("path", "meeting_id"),
            type="meeting_closed",
            params={"meeting": str(meeting.pk)},
            key="meeting_closed.meeting",
        )
    return mbp


@transaction.atomic
def bridge_point_join(
    *, actor, meeting: Meeting, bridge_point_code: str, now: dt.datetime | None = None
) -> MeetingBridgePoint:
    mbp = _meeting_point(actor, meeting, bridge_point_code)
    now = now or timezone.now()
    if mbp.joined_at is None:
        audited_update(
            actor=actor,
            obj=mbp,
            changes={"joined_at": now, "last_seen_at": now},
            unit_path=meeting.unit.path,
        )
    else:
        MeetingBridgePoint.objects.filter(pk=mbp.pk).update(last_seen_at=now)
        mbp.last_seen_at = now
    _room_changed(meeting)
    return mbp


def bridge_point_heartbeat(
    *, actor, meeting: Meeting, bridge_point_code: str, now: dt.datetime | None = None
) -> MeetingBridgePoint:
    """A screen at the bridge point is still there (not audited; see the module docstring)."""
    mbp = _meeting_point(actor, meeting, bridge_point_code)
    if mbp.joined_at is None:
        return bridge_point_join(actor=actor, meeting=meeting, bridge_point_code=bridge_point_code, now=now)
    now = now or timezone.now()
    back = mbp.last_seen_at is None or now - mbp.last_seen_at > HEARTBEAT_BACK_AFTER
    MeetingBridgePoint.objects.filter(pk=mbp.pk).update(last_seen_at=now)
    mbp.last_seen_at = now
    if back:  # the room may show it offline: tell the streams; a regular heartbeat changes nothing shown
        live_bus.notify(live_bus.meeting_topic(meeting.pk))
    return mbp


def _room_changed(meeting: Meeting) -> None:
    """Wake the meeting's live room streams (PostgreSQL, at commit; core.live_bus): a person is watching."""
    live_bus.notify(live_bus.meeting_topic(meeting.pk), urgent=True)
