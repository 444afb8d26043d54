"""Writes of the briefing module: meetings and their live room, directives, key tasks and KPIs.

Every function checks the actor's scope, validates, writes and audits in one transaction; `actor=None` is
the system (shell, demo loader). Who may do what:

- run a meeting (create, edit, start, steer the live room, close): PLAN or MANAGE on the meeting's unit —
  the group's planning office runs the group briefing, a company's its own. A meeting's chair may also
  start, steer and close it. Editing a closed meeting (narrative, agenda, pack) is a 409 Conflict.
- raise a directive: PLAN or MANAGE on the meeting's unit (the office that keeps the minutes, or an
  administrator); outside a meeting, on the owner unit. The owner must lie under the meeting's unit: a
  company briefing cannot direct another company. Reporting progress (in progress, done with evidence,
  comments) needs REPORT, PLAN or MANAGE on the owner unit — the owner reports; cancelling or reopening a
  directive needs PLAN or MANAGE where it was issued.
- key tasks and KPIs: PLAN or MANAGE on the owner unit; a manual milestone may also be reported done by
  whoever may REPORT there.
- joining the live room from a bridge point: VIEW on the bridge point's unit. Heartbeats only move
  `last_seen_at` and are not audited (one every few seconds per screen would drown the log); the first join is.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from headframe.briefing.models import (
    AgendaItem,
    Comparator,
    Directive,
    DirectiveComment,
    DirectiveStatus,
    KeyTask,
    KeyTaskKpi,
    KpiKind,
    Meeting,
    MeetingBridgePoint,
    MeetingStatus,
    MeetingType,
    Priority,
    Section,
)
from headframe.core.audit import audit_record, snapshot
from headframe.core.dates import check_day
from headframe.core.errors import Conflict, ErrorItem, PermissionDenied, ValidationFailed
from headframe.core.services import audited_create, audited_update
from headframe.core.text import check_clean_text
from headframe.org.models import BridgePoint, Person, Unit
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_named

logger = logging.getLogger(__name__)

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


def _allowed(actor, perms: Iterable[str], path: str) -> bool:
    scope = scope_for(actor)
    return any(scope.allows(p, path) for p in perms)


def _require(actor, perms: Iterable[str], path: str, *, what: str, loc=("body",)) -> None:
    if not _allowed(actor, perms, path):
        raise PermissionDenied(f"you may not {what}: outside your scope", loc=loc)


# Free text (several lines allowed) vs names and titles (one line): both refuse NUL, bidi overrides and
# zero-width characters (headframe.core.text).
MULTILINE_FIELDS = {"narrative_vi", "narrative_en", "attendees", "text", "evidence", "comment", "description"}


def _clean_texts(texts: dict, *, loc: tuple = ("body",)) -> None:
    """Refuse hidden or control characters in the given fields ({field: text}); loc is the body's prefix."""
    for name, text in texts.items():
        check_clean_text(text, loc=(*loc, name), multiline=name in MULTILINE_FIELDS, label=name)


def _check_days(days: dict, *, loc: tuple = ("body",)) -> None:
    for name, day in days.items():
        check_day(day, loc=(*loc, name))


def _on_line(a: Unit, b: Unit) -> bool:
    """One unit lies in the other's subtree (or they are the same unit)."""
    return a.path.startswith(b.path) or b.path.startswith(a.path)


def _also_audit(actor, *, obj, primary: str, paths: Iterable[str], after: dict, action: str = "link") -> None:
    """A write that touches another place as well: its auditors get the row too, unless they already see the
    primary one (an auditor of a place sees the rows filed under it and below)."""
    for path in sorted(set(paths)):
        if path and not primary.startswith(path):
            audit_record(actor=actor, action=action, obj=obj, unit_path=path, after=after)


def _chair(actor, chair, unit: Unit, *, loc: tuple = ("body", "chair")):
    """The chair is a user (or username) who may see the meeting's unit: the chair runs the meeting and sees
    its pack. Anyone else is refused like an unknown user (who exists elsewhere is not revealed)."""
    from django.contrib.auth import get_user_model

    if chair in (None, ""):
        return None
    user = chair
    if not getattr(chair, "pk", None):
        user = get_user_model().objects.filter(username=str(chair), is_active=True).first()
    name = getattr(user, "username", None) or str(chair)
    if user is None or not user.is_active or not scope_for(user).allows(Perm.VIEW, unit.path):
        raise ValidationFailed(
            loc=loc,
            type="unknown_user",
            params={"user": repr(name), "unit": unit.code},
            key="unknown_user.chair",
        )
    return user


def _person(person, *, under: Unit, loc: tuple) -> Person | None:
    """A person by instance, id or employee number, who must work in `under`'s subtree."""
    if person in (None, ""):
        return None
    if not isinstance(person, Person):
        qs = Person.objects.select_related("unit")
        found = qs.filter(employee_no=str(person)).first()
        if found is None and str(person).isdigit():
            found = qs.filter(pk=int(person)).first()
        if found is None or not found.unit.path.startswith(under.path):
            # One answer for an unknown number and for someone who works elsewhere (perhaps at another
            # company): no name, no hint that the number exists.
            raise ValidationFailed(
                loc=loc,
                type="unknown_person",
                params={"person": repr(person), "unit": under.code},
                key="unknown_person.in",
            )
        person = found
    if not person.unit.path.startswith(under.path):
        raise ValidationFailed(
            loc=loc,
            type="person_outside_unit",
            params={"person": person.full_name, "unit": under.code},
            key="person_outside_unit.named",
        )
    return person


def _indicator(code: str | None, *, loc: tuple):
    from headframe.production.models import Indicator

    if not code:
        return None
    indicator = Indicator.objects.filter(code=code, is_active=True).first()
    if indicator is None:
        raise ValidationFailed(
            loc=loc, type="unknown_indicator", params={"indicator": repr(code)}, key="unknown_indicator.named"
        )
    return indicator


def _can_run(actor, meeting: Meeting) -> bool:
    if actor is not None and meeting.chair_id and meeting.chair_id == getattr(actor, "pk", None):
        return True
    return _allowed(actor, (Perm.PLAN, Perm.MANAGE), meeting.unit.path)


def _require_run(actor, meeting: Meeting, what: str) -> None:
    if not _can_run(actor, meeting):
        raise PermissionDenied(
            f"you may not {what}: only the chair or a planner of {meeting.unit.code} may",
            loc=("path", "meeting_id"),
        )


def _refuse_if_closed(meeting: Meeting, what: str) -> None:
    if meeting.status == MeetingStatus.CLOSED:
        when = timezone.localtime(meeting.closed_at).strftime("%d/%m/%Y %H:%M") if meeting.closed_at else ""
        raise Conflict(
            f"meeting {meeting.pk} is closed (since {when}): its {what} can no longer be changed",
            loc=("path", "meeting_id"),
            type="meeting_closed",
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
            items.append(ErrorItem(loc, f"unknown bridge point {p.code!r}", "unknown_bridge_point"))
            continue
        try:
            check_clean_text(p.attendees, loc=("body", "bridge_points", n, "attendees"), multiline=True)
        except ValidationFailed as exc:
            items.extend(exc.items)
            continue
        if p.code in seen:
            items.append(ErrorItem(loc, f"bridge point {p.code} is listed twice", "duplicate"))
            continue
        seen.add(p.code)
        if not (bp.unit.path.startswith(meeting_unit.path) or meeting_unit.path.startswith(bp.unit.path)):
            items.append(
                ErrorItem(
                    loc,
                    f"bridge point {p.code} belongs to {bp.unit.code}, outside {meeting_unit.code}",
                    "bridge_point_outside_unit",
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
                    f"unknown section {a.section!r}; expected one of {', '.join(Section.values)}",
                    "enum",
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
        actor, (Perm.PLAN, Perm.MANAGE), unit.path, what=f"call meetings of {unit.code}", loc=("body", "unit")
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
        raise ValidationFailed(f"{name} cannot be changed", loc=("body", name), type="read_only")
    _require_run(actor, meeting, "change this meeting")
    for name in ("type", "title", "starts_at", "period_start", "period_end"):
        if name in changes and changes[name] in (None, ""):
            raise ValidationFailed(f"{name} cannot be emptied", loc=("body", name), type="missing")
    what = ", ".join(sorted(changes)) or ("agenda" if agenda is not None else "bridge points")
    _refuse_if_closed(meeting, what)
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
    return meeting


@transaction.atomic
def meeting_start(*, actor, meeting: Meeting, now: dt.datetime | None = None) -> Meeting:
    meeting = _locked(meeting)
    _require_run(actor, meeting, "start this meeting")
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict(
            f"meeting {meeting.pk} is already {MeetingStatus(meeting.status).label.lower()}; only a planned "
            "meeting can start",
            loc=("path", "meeting_id"),
            type="meeting_not_planned",
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
    return meeting


def _build_pack(meeting: Meeting):
    """The frozen pack from headframe.briefing.pack.pack_build(meeting), if that module provides it."""
    try:
        module = importlib.import_module("headframe.briefing.pack")
    except ModuleNotFoundError as exc:
        if exc.name != "headframe.briefing.pack":
            raise
        return None
    build = getattr(module, "pack_build", None)
    if build is None:
        return None
    return build(meeting)


@transaction.atomic
def meeting_close(*, actor, meeting: Meeting, now: dt.datetime | None = None) -> Meeting:
    """in session → closed; freezes the briefing pack into meeting.pack. Closing twice is a 409."""
    meeting = _locked(meeting)
    _require_run(actor, meeting, "close this meeting")
    if meeting.status == MeetingStatus.CLOSED:
        who = meeting.closed_by.username if meeting.closed_by_id else "the system"
        when = timezone.localtime(meeting.closed_at).strftime("%d/%m/%Y %H:%M")
        raise Conflict(
            f"meeting {meeting.pk} was already closed on {when} by {who}; its pack is frozen",
            loc=("path", "meeting_id"),
            type="meeting_closed",
        )
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict(
            f"meeting {meeting.pk} has not started; start it before closing it",
            loc=("path", "meeting_id"),
            type="meeting_not_in_session",
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
    pack = _build_pack(meeting)
    if pack is not None:
        # The pack is stored apart from the audited diff (it can be large); the audit row notes its presence.
        Meeting.objects.filter(pk=meeting.pk).update(pack=pack)
        meeting.pack = pack
        audit_record(
            actor=actor,
            action="update",
            obj=meeting,
            unit_path=meeting.unit.path,
            after={"pack": "frozen", "pack_sections": sorted(pack) if isinstance(pack, dict) else None},
        )
    return meeting


@transaction.atomic
def meeting_set_focus(
    *, actor, meeting: Meeting, agenda_item_id: int | None = None, section: str | None = None
) -> Meeting:
    """The chair moves every bridge point's view: to an agenda item (its section follows unless given) and/or
    a pack section."""
    meeting = _locked(meeting)
    _require_run(actor, meeting, "steer this meeting")
    if meeting.status != MeetingStatus.IN_SESSION:
        raise Conflict(
            f"meeting {meeting.pk} is not in session",
            loc=("path", "meeting_id"),
            type="meeting_not_in_session",
        )
    changes = {}
    if agenda_item_id is not None:
        item = meeting.agenda_items.filter(pk=agenda_item_id).first()
        if item is None:
            raise ValidationFailed(
                f"agenda item {agenda_item_id} is not on this meeting's agenda",
                loc=("body", "agenda_item"),
                type="unknown_agenda_item",
            )
        changes["current_agenda_item"] = item
        changes["current_section"] = item.section
    if section is not None:
        if section not in Section.values:
            raise ValidationFailed(
                f"unknown section {section!r}; expected one of {', '.join(Section.values)}",
                loc=("body", "section"),
                type="enum",
            )
        changes["current_section"] = section
    if not changes:
        raise ValidationFailed(loc=("body",), type="missing", params={}, key="missing.agenda_or_section")
    audited_update(actor=actor, obj=meeting, changes=changes, unit_path=meeting.unit.path)
    return meeting


def _meeting_point(actor, meeting: Meeting, bridge_point_code: str) -> MeetingBridgePoint:
    mbp = (
        meeting.bridge_points.select_related("bridge_point__unit")
        .filter(bridge_point__code=bridge_point_code)
        .first()
    )
    if mbp is None:
        raise ValidationFailed(
            f"bridge point {bridge_point_code!r} does not take part in this meeting",
            loc=("body", "bridge_point"),
            type="unknown_bridge_point",
        )
    _require(
        actor,
        (Perm.VIEW,),
        mbp.bridge_point.unit.path,
        what=f"join from bridge point {bridge_point_code}",
        loc=("body", "bridge_point"),
    )
    if meeting.status == MeetingStatus.CLOSED:
        raise Conflict(f"meeting {meeting.pk} is closed", loc=("path", "meeting_id"), type="meeting_closed")
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
    return mbp


def bridge_point_heartbeat(
    *, actor, meeting: Meeting, bridge_point_code: str, now: dt.datetime | None = None
) -> MeetingBridgePoint:
    """A screen at the bridge point is still there (not audited; see the module docstring)."""
    mbp = _meeting_point(actor, meeting, bridge_point_code)
    if mbp.joined_at is None:
        return bridge_point_join(actor=actor, meeting=meeting, bridge_point_code=bridge_point_code, now=now)
    now = now or timezone.now()
    MeetingBridgePoint.objects.filter(pk=mbp.pk).update(last_seen_at=now)
    mbp.last_seen_at = now
    return mbp


# --- directives ----------------------------------------------------------------------------------------


def _next_seq(year: int) -> int:
    return (Directive.objects.filter(year=year).aggregate(m=Max("seq"))["m"] or 0) + 1


@transaction.atomic
def directive_create(
    *,
    actor,
    text: str,
    owner_unit_code: str,
    deadline: dt.date,
    priority: str = Priority.NORMAL,
    meeting: Meeting | None = None,
    owner_person=None,
    indicator_code: str | None = None,
    key_task: KeyTask | int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Directive:
    """Raise a directive (the fast form during a meeting, or outside one). Numbered seq/year of the day
    it is raised."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    items: list[ErrorItem] = []
    owner = Unit.objects.filter(code=owner_unit_code).first() if owner_unit_code else None
    if owner is None or not _allowed(actor, (Perm.VIEW,), owner.path):  # outside one's view: not revealed
        owner = None
        items.append(
            ErrorItem(
                ("body", "owner_unit"),
                "",
                "unknown_unit",
                {"unit": repr(owner_unit_code)},
                "unknown_unit.named",
            )
        )
    try:
        check_day(deadline, loc=("body", "deadline"))
    except ValidationFailed as exc:
        items.extend(exc.items)
    else:
        if deadline < today:
            items.append(
                ErrorItem(
                    ("body", "deadline"),
                    "",
                    "deadline_in_past",
                    {"deadline": deadline, "today": today},
                    "deadline_in_past.day",
                )
            )
    try:
        check_clean_text(text, loc=("body", "text"), multiline=True, label="the directive")
    except ValidationFailed as exc:
        items.extend(exc.items)
    if not (text or "").strip():
        items.append(ErrorItem(("body", "text"), "", "missing", {}, "missing.directive_text"))
    if priority not in Priority.values:
        items.append(
            ErrorItem(("body", "priority"), "", "enum", {"priority": repr(priority)}, "enum.priority")
        )
    if items:
        raise ValidationFailed(items=items)
    if meeting is not None:
        meeting = Meeting.objects.select_related("unit").get(pk=meeting.pk)
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            meeting.unit.path,
            what=f"raise directives in meetings of {meeting.unit.code}",
            loc=("body", "meeting"),
        )
        _refuse_if_closed(meeting, "directives")
        if not owner.path.startswith(meeting.unit.path):
            raise ValidationFailed(
                loc=("body", "owner_unit"),
                type="owner_outside_meeting_unit",
                params={"owner": owner.code, "unit": meeting.unit.code},
                key="owner_outside_meeting_unit.named",
            )
    else:
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            owner.path,
            what=f"give directives to {owner.code}",
            loc=("body", "owner_unit"),
        )
    person = _person(owner_person, under=owner, loc=("body", "owner_person"))
    indicator = _indicator(indicator_code, loc=("body", "indicator"))
    task = _linked_key_task(actor, key_task, owner)
    if indicator is not None and task is not None:
        raise ValidationFailed(loc=("body", "key_task"), type="one_link", params={}, key="one_link.both")
    # Numbers are per year of issue; two clerks raising at once: the loser of the unique (year, seq) retries.
    for attempt in range(5):
        directive = Directive(
            year=today.year,
            seq=_next_seq(today.year),
            text=text.strip(),
            meeting=meeting,
            owner_unit=owner,
            owner_person=person,
            deadline=deadline,
            priority=priority,
            indicator=indicator,
            key_task=task,
            created_by=actor if getattr(actor, "pk", None) else None,
            created_at=now,
        )
        try:
            with transaction.atomic():
                audited_create(actor=actor, obj=directive, unit_path=owner.path)
                if task is not None:  # the key task's own auditors see what was linked to it
                    _also_audit(
                        actor,
                        obj=directive,
                        primary=owner.path,
                        paths=[task.owner_unit.path],
                        after={"key_task": task.pk, "owner_unit": owner.code},
                    )
                return directive
        except (Conflict, ValidationFailed) as exc:
            duplicate = isinstance(exc, Conflict) or any(
                i.type in ("unique", "unique_together") for i in exc.items
            )
            if attempt == 4 or not duplicate:
                raise
    raise AssertionError("unreachable")


def _linked_key_task(actor, key_task, owner: Unit) -> KeyTask | None:
    """The key task a directive serves: one the actor may see (else unknown, like a missing one), of the owner's
    line (a company's directive serves its own or its group's key tasks). A key task of another unit needs PLAN
    or MANAGE there as well: the actor writes into both places."""
    if key_task is None:
        return None
    pk = key_task.pk if isinstance(key_task, KeyTask) else key_task
    task = KeyTask.objects.select_related("owner_unit").filter(pk=pk).first() if str(pk).isdigit() else None
    if task is None or not _allowed(actor, (Perm.VIEW,), task.owner_unit.path):
        raise ValidationFailed(f"unknown key task {pk!r}", loc=("body", "key_task"), type="unknown_key_task")
    place = task.owner_unit
    if not owner.path.startswith(place.path):  # not the owner's own or an enclosing unit's key task
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            place.path,
            what=f"link directives to key tasks of {place.code}",
            loc=("body", "key_task"),
        )
        if not _on_line(owner, place):
            raise ValidationFailed(
                f"key task {task.number}/{task.year} belongs to {place.code}: a directive to {owner.code} "
                "cannot serve it",
                loc=("body", "key_task"),
                type="key_task_outside_owner",
            )
    return task


def directive_settable_statuses(actor, directive: Directive) -> list[str]:
    """The statuses actor may give the directive (the rules of directive_update_status): its present status
    (a comment only) and the moves of the owner unit's reporters; cancelling and reopening only where the
    directive was issued. Empty: the actor may not report on it at all."""
    issuer_path = directive.meeting.unit.path if directive.meeting_id else directive.owner_unit.path
    may_report = _allowed(actor, (Perm.REPORT, Perm.PLAN, Perm.MANAGE), directive.owner_unit.path)
    may_close = _allowed(actor, (Perm.PLAN, Perm.MANAGE), issuer_path)
    settable = []
    for status in DirectiveStatus.values:
        closing_or_reopening = status == DirectiveStatus.CANCELLED or (
            directive.status in (DirectiveStatus.DONE, DirectiveStatus.CANCELLED)
            and status != directive.status
        )
        if may_close if closing_or_reopening else may_report:
            settable.append(status)
    return settable


@transaction.atomic
def directive_update_status(
    *,
    actor,
    directive: Directive,
    status: str,
    comment: str = "",
    evidence: str = "",
    now: dt.datetime | None = None,
) -> Directive:
    """Report progress: a new status with a comment (and evidence; done needs it). The same status with a
    comment only adds the comment. Every change is a DirectiveComment plus an audit row."""
    now = now or timezone.now()
    directive = (
        Directive.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "meeting__unit")
        .get(pk=directive.pk)
    )
    if status == "overdue":
        raise ValidationFailed(
            "overdue is not set by hand: it follows from the deadline",
            loc=("body", "status"),
            type="derived_status",
        )
    if status not in DirectiveStatus.values:
        raise ValidationFailed(
            f"unknown status {status!r}; expected one of {', '.join(DirectiveStatus.values)}",
            loc=("body", "status"),
            type="enum",
        )
    issuer_path = directive.meeting.unit.path if directive.meeting_id else directive.owner_unit.path
    closing_or_reopening = status == DirectiveStatus.CANCELLED or (
        directive.status in (DirectiveStatus.DONE, DirectiveStatus.CANCELLED) and status != directive.status
    )
    if closing_or_reopening:
        _require(
            actor,
            (Perm.PLAN, Perm.MANAGE),
            issuer_path,
            what="cancel or reopen this directive (only where it was issued)",
            loc=("body", "status"),
        )
    else:
        _require(
            actor,
            (Perm.REPORT, Perm.PLAN, Perm.MANAGE),
            directive.owner_unit.path,
            what=f"report on directives of {directive.owner_unit.code}",
            loc=("path", "directive_id"),
        )
    evidence = (evidence or "").strip()
    comment = (comment or "").strip()
    _clean_texts({"comment": comment, "evidence": evidence})
    changes: dict = {"status": status}
    if evidence:
        changes["evidence"] = evidence
    if status == DirectiveStatus.DONE:
        if not (evidence or directive.evidence):
            raise ValidationFailed(
                loc=("body", "evidence"),
                type="evidence_required",
                params={},
                key="evidence_required.directive",
            )
        if directive.status != DirectiveStatus.DONE:
            changes["done_at"] = now
    else:
        changes["done_at"] = None
    if status == directive.status and not comment and not evidence:
        raise ValidationFailed(
            f"the directive is already {status}; add a comment or evidence",
            loc=("body", "comment"),
            type="no_change",
        )
    old_status = directive.status
    audited_update(actor=actor, obj=directive, changes=changes, unit_path=directive.owner_unit.path)
    note = DirectiveComment(
        directive=directive,
        author=actor if getattr(actor, "pk", None) else None,
        at=now,
        text=comment or evidence,
        new_status=status if status != old_status else "",
    )
    audited_create(actor=actor, obj=note, unit_path=directive.owner_unit.path)
    return directive


# --- key tasks -----------------------------------------------------------------------------------------


@transaction.atomic
def key_task_create(
    *,
    actor,
    year: int,
    title_vi: str,
    owner_unit_code: str,
    title_en: str = "",
    description: str = "",
    number: int | None = None,
    owner_person=None,
) -> KeyTask:
    owner = unit_named(actor, owner_unit_code, loc=("body", "owner_unit"))
    _require(
        actor,
        (Perm.PLAN, Perm.MANAGE),
        owner.path,
        what=f"set key tasks of {owner.code}",
        loc=("body", "owner_unit"),
    )
    _clean_texts({"title_vi": title_vi, "title_en": title_en, "description": description})
    if number is None:
        number = (
            KeyTask.objects.filter(owner_unit=owner, year=year).aggregate(m=Max("number"))["m"] or 0
        ) + 1
    task = KeyTask(
        year=year,
        number=number,
        title_vi=(title_vi or "").strip(),
        title_en=(title_en or "").strip(),
        description=description,
        owner_unit=owner,
        owner_person=_person(owner_person, under=owner, loc=("body", "owner_person")),
    )
    return audited_create(actor=actor, obj=task, unit_path=owner.path)


def _decimal(value, *, loc: tuple) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationFailed("expected a number", loc=loc, type="decimal")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(f"expected a number, got {value!r}", loc=loc, type="decimal") from None
    if not number.is_finite():
        raise ValidationFailed(f"expected a number, got {value!r}", loc=loc, type="decimal")
    return number


@transaction.atomic
def kpi_create(
    *,
    actor,
    key_task: KeyTask,
    name_vi: str,
    kind: str,
    name_en: str = "",
    indicator_code: str | None = None,
    unit_code: str | None = None,
    comparator: str = Comparator.GE,
    target=None,
    order: int | None = None,
) -> KeyTaskKpi:
    """A KPI of a key task. Bound kinds measure an indicator of a unit in the task owner's subtree (default:
    the owner itself): `indicator_vs_plan` as % of the year-to-date plan (target 100 = on plan),
    `indicator_value` as the year-to-date value. `manual` is a milestone reported done with evidence."""
    key_task = KeyTask.objects.select_related("owner_unit").get(pk=key_task.pk)
    owner = key_task.owner_unit
    _require(
        actor,
        (Perm.PLAN, Perm.MANAGE),
        owner.path,
        what=f"set KPIs of {owner.code}'s key tasks",
        loc=("body",),
    )
    if kind not in KpiKind.values:
        raise ValidationFailed(
            f"unknown kind {kind!r}; expected one of {', '.join(KpiKind.values)}",
            loc=("body", "kind"),
            type="enum",
        )
    if comparator not in Comparator.values:
        raise ValidationFailed("comparator is ge (≥) or le (≤)", loc=("body", "comparator"), type="enum")
    _clean_texts({"name_vi": name_vi, "name_en": name_en})
    target = _decimal(target, loc=("body", "target"))
    indicator = unit = None
    if kind == KpiKind.MANUAL:
        if indicator_code or unit_code:
            raise ValidationFailed(
                "a manual milestone is not bound to an indicator",
                loc=("body", "indicator"),
                type="manual_bound",
            )
    else:
        if not indicator_code:
            raise ValidationFailed(
                f"a {kind} KPI needs an indicator", loc=("body", "indicator"), type="missing"
            )
        indicator = _indicator(indicator_code, loc=("body", "indicator"))
        # a unit the actor cannot see is unknown; one it sees must lie under the owner, checked next
        unit = unit_named(actor, unit_code, loc=("body", "unit")) if unit_code else owner
        if not unit.path.startswith(owner.path):
            raise ValidationFailed(
                f"KPI bound to an indicator of another unit: {unit.code} is outside {owner.code}, "
                "which owns the key task",
                loc=("body", "unit"),
                type="kpi_other_unit",
            )
        if target is None:
            target = Decimal(100) if kind == KpiKind.INDICATOR_VS_PLAN else None
        if target is None:
            raise ValidationFailed("give the target value", loc=("body", "target"), type="missing")
    if order is None:
        order = (key_task.kpis.aggregate(m=Max("order"))["m"] or 0) + 1
    kpi = KeyTaskKpi(
        key_task=key_task,
        order=order,
        name_vi=(name_vi or "").strip(),
        name_en=(name_en or "").strip(),
        kind=kind,
        indicator=indicator,
        unit=unit,
        comparator=comparator,
        target=target,
    )
    return audited_create(actor=actor, obj=kpi, unit_path=owner.path)


@transaction.atomic
def kpi_update_manual(
    *, actor, kpi: KeyTaskKpi, done: bool, evidence: str = "", now: dt.datetime | None = None
) -> KeyTaskKpi:
    kpi = (
        KeyTaskKpi.objects.select_for_update(of=("self",))
        .select_related("key_task__owner_unit")
        .get(pk=kpi.pk)
    )
    owner = kpi.key_task.owner_unit
    _require(
        actor,
        (Perm.REPORT, Perm.PLAN, Perm.MANAGE),
        owner.path,
        what=f"report on {owner.code}'s key tasks",
        loc=("path", "kpi_id"),
    )
    if kpi.kind != KpiKind.MANUAL:
        raise ValidationFailed(
            "this KPI is computed from production figures; only manual milestones are reported by hand",
            loc=("body", "done"),
            type="not_manual",
        )
    _clean_texts({"evidence": evidence})
    evidence = (evidence or "").strip() or kpi.evidence
    if done and not evidence:
        raise ValidationFailed(
            loc=("body", "evidence"), type="evidence_required", params={}, key="evidence_required.milestone"
        )
    changes = {"done": done, "evidence": evidence}
    if done and not kpi.done:
        changes["done_at"] = now or timezone.now()
    if not done:
        changes["done_at"] = None
    audited_update(actor=actor, obj=kpi, changes=changes, unit_path=owner.path)
    return kpi
