"""Pack pages and the live briefing room.

- `/briefing/meetings/<id>/pack`: the meeting's pack as a projector-friendly page (PDF and Excel links);
- `/briefing/pack?unit=&from=&to=`: an ad-hoc pack of a unit for a period;
- `/briefing/meetings/<id>/room`: the live room every bridge point opens beside its video system: the current
  agenda item, the pack section under discussion (the chair moves everyone's view), directives as they are
  raised, who has joined from each bridge point. The page acts through the briefing API (focus, join and
  heartbeat, directives) and follows `/briefing/meetings/<id>/room/stream`, an SSE stream that reads the
  database when the briefing services notify a change of the meeting (PostgreSQL LISTEN/NOTIFY, core.live_bus;
  at least every 15 s), or every second on SQLite: `focus`, `points`, `status` events carry state (sent on
  change and on connect), `directive` events carry the directives raised in the meeting, their id being the SSE id — a browser that
  reconnects with Last-Event-ID gets only those it missed.

Who sees what: a user who may see the meeting's unit sees the whole pack; a user of a company whose bridge
point takes part sees that company's pack; anyone else gets a 404 (briefing.pack.pack_scope).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from headframe.briefing import selectors
from headframe.briefing.models import Meeting, MeetingStatus, Section
from headframe.briefing.pack.build import meeting_pack_for, pack_for_cached, pack_scope
from headframe.briefing.pack.export import pack_context
from headframe.core import live_bus
from headframe.core.dates import check_day
from headframe.core.errors import HeadframeError, NotFound, ValidationFailed
from headframe.core.params import parse_day
from headframe.org.roles import Perm
from headframe.org.selectors import scope_for, unit_get, units_visible
from headframe.production.selectors import default_day

log = logging.getLogger(__name__)

STREAM_TICK_S = 1.0
STREAM_MAX_S = 300.0  # then the stream ends and the browser reconnects with Last-Event-ID
STREAM_HEARTBEAT_S = 15.0
STREAM_RETRY_MS = 2000
ONLINE_WITHIN = dt.timedelta(seconds=45)  # a bridge point's screen heartbeats every 15 s
HEARTBEAT_S = 15
# The meeting's focus sections (briefing.models.Section) → the pack's sections ("other": the summary).
SECTION_OF_FOCUS = {
    Section.PRODUCTION: "production",
    Section.SAFETY: "safety",
    Section.DIRECTIVES: "directives",
    Section.KEY_TASKS: "key_tasks",
    Section.OTHER: "summary",
}


def _meeting(user, pk: int) -> Meeting:
    try:
        return selectors.meeting_get(user, pk)
    except NotFound:
        raise Http404(pk) from None


def _language(request) -> str:
    return "en" if (translation.get_language() or "vi").startswith("en") else "vi"


def _downloads(meeting_id: int | None, code: str, query: str = "") -> dict:
    if meeting_id is None:
        base = "/api/v1/briefing/pack"
        return {"pdf": f"{base}.pdf?{query}", "xlsx": f"{base}.xlsx?{query}", "json": f"{base}?{query}"}
    base = f"/api/v1/briefing/meetings/{meeting_id}/pack"
    suffix = f"?unit={code}"
    return {"pdf": f"{base}.pdf{suffix}", "xlsx": f"{base}.xlsx{suffix}", "json": f"{base}{suffix}"}


@login_required
def meeting_pack(request, pk: int):
    meeting = _meeting(request.user, pk)
    code = request.GET.get("unit") or None
    allowed = pack_scope(request.user, meeting, code)
    if allowed is None:
        raise Http404(pk)
    pack = meeting_pack_for(request.user, meeting, allowed)
    context = {
        **pack_context(pack, _language(request)),
        "active_nav": "briefing",
        "meeting_obj": meeting,
        "downloads": _downloads(meeting.pk, allowed),
        "can_edit": selectors.can_run(request.user, meeting) and meeting.status != MeetingStatus.CLOSED,
        "meeting_url": reverse("briefing:meeting", args=[meeting.pk]),
        "room_url": reverse("briefing:room", args=[meeting.pk]),
    }
    return render(request, "briefing/pack.html", context)


def adhoc_period(raw_unit: str, raw_from: str | None, raw_to: str | None) -> tuple[dt.date, dt.date]:
    """The period of an ad-hoc pack: `to` defaults to yesterday, `from` to the first of `to`'s month."""
    end = parse_day(raw_to, "to") or default_day()
    check_day(end, loc=("query", "to"))
    start = parse_day(raw_from, "from") or end.replace(day=1)
    check_day(start, loc=("query", "from"))
    if end < start:
        raise ValidationFailed(
            loc=("query", "to"), type="bad_period", params={}, key="bad_period.to_before_from"
        )
    return start, end


@login_required
def adhoc_pack(request):
    code = request.GET.get("unit") or ""
    if not code:
        top = units_visible(request.user).order_by("depth", "code").first()
        if top is None:
            raise Http404("no unit in your scope")
        code = top.code
    try:
        unit = unit_get(request.user, code)
        start, end = adhoc_period(code, request.GET.get("from"), request.GET.get("to"))
    except NotFound:
        raise Http404(code) from None
    except HeadframeError as exc:
        return HttpResponse(exc.text, status=exc.status, content_type="text/plain; charset=utf-8")
    pack = pack_for_cached(unit, start, end)
    query = f"unit={unit.code}&from={start:%Y-%m-%d}&to={end:%Y-%m-%d}"
    context = {
        **pack_context(pack, _language(request)),
        "active_nav": "briefing",
        "downloads": _downloads(None, unit.code, query),
        "adhoc": True,
        "form": {"unit": unit.code, "from": start, "to": end},
        "units": units_visible(request.user).filter(kind__in=["group", "company"]).order_by("path"),
    }
    return render(request, "briefing/pack.html", context)


# ---------------------------------------------------------------- the live room


def _agenda_json(meeting: Meeting) -> list[dict]:
    return [
        {"id": a.pk, "order": a.order, "title": a.title, "section": a.section, "presenter": a.presenter}
        for a in selectors.agenda_of(meeting)
    ]


def _points_json(meeting: Meeting, now: dt.datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    out = []
    for mbp in selectors.bridge_points_of(meeting):
        point = mbp.bridge_point
        joined = timezone.localtime(mbp.joined_at) if mbp.joined_at else None
        out.append(
            {
                "code": point.code,
                "name": point.name_en if _language(None) == "en" and point.name_en else point.name_vi,
                "unit": point.unit.code,
                "attendees": mbp.attendees,
                "joined": joined.strftime("%H:%M") if joined else "",
                "online": bool(mbp.last_seen_at and now - mbp.last_seen_at <= ONLINE_WITHIN),
            }
        )
    return out


def _directive_json(d) -> dict:
    return {
        "id": d.pk,
        "number": d.number,
        "text": d.text,
        "owner": d.owner_unit.code,
        "owner_name": d.owner_unit.name,
        "owner_person": d.owner_person.full_name if d.owner_person_id else "",
        "deadline": d.deadline.strftime("%d/%m/%Y"),
        "priority": d.priority,
        "status": str(d.effective_status),
    }


def _visible_directives(user, meeting: Meeting, after: int = 0):
    return [
        _directive_json(d)
        for d in selectors.directives_list(user, meeting=meeting).filter(pk__gt=after).order_by("pk")
    ]


def _focus_json(meeting: Meeting) -> dict:
    item = meeting.current_agenda_item
    return {
        "section": SECTION_OF_FOCUS.get(meeting.current_section, "summary")
        if meeting.current_section
        else "",
        "agenda_item": item.pk if item else None,
        "agenda_title": f"{item.order}. {item.title}" if item else "",
    }


def _joinable(user, meeting: Meeting) -> list[dict]:
    """The meeting's bridge points the user may join from (VIEW on the bridge point's unit)."""
    scope = scope_for(user)
    return [
        {"code": mbp.bridge_point.code, "name": mbp.bridge_point.name_vi}
        for mbp in selectors.bridge_points_of(meeting)
        if scope.allows(Perm.VIEW, mbp.bridge_point.unit.path)
    ]


@login_required
def room(request, pk: int):
    meeting = _meeting(request.user, pk)
    allowed = pack_scope(request.user, meeting)
    pack = meeting_pack_for(request.user, meeting, allowed) if allowed else None
    can_run = selectors.can_run(request.user, meeting)
    directives = _visible_directives(request.user, meeting)
    owners = []
    if can_run:
        owners = list(
            units_visible(request.user)
            .filter(path__startswith=meeting.unit.path, kind__in=["group", "company", "site"])
            .order_by("path")
        )
    focus = _focus_json(meeting)
    config = {
        "meeting": meeting.pk,
        "stream": reverse("briefing:room-stream", args=[meeting.pk]),
        "focus_url": f"/api/v1/briefing/meetings/{meeting.pk}/focus",
        "join_url": f"/api/v1/briefing/meetings/{meeting.pk}/join",
        "directives_url": "/api/v1/directives",
        "after": max((d["id"] for d in directives), default=0),
        "heartbeat_s": HEARTBEAT_S,
        "can_run": can_run,
        "focus": focus,
        "labels": {
            "live": _("live"),
            "reconnecting": _("reconnecting…"),
            "joined": _("joined"),
            "not_joined": _("not joined"),
            "closed": _("The meeting is closed."),
            "saved": _("Directive raised."),
        },
    }
    context = {
        **(pack_context(pack, _language(request)) if pack else {}),
        "has_pack": pack is not None,
        "active_nav": "briefing",
        "meeting_obj": meeting,
        "agenda": _agenda_json(meeting),
        "points": _points_json(meeting),
        "room_directives": directives,
        "joinable": _joinable(request.user, meeting),
        "can_run": can_run,
        "owners": owners,
        "default_deadline": timezone.localdate() + dt.timedelta(days=30),
        "focus": focus,
        "focus_sections": [
            (Section.OTHER.value, _("Summary")),
            (Section.PRODUCTION.value, _("Production")),
            (Section.SAFETY.value, _("Safety")),
            (Section.DIRECTIVES.value, _("Directives")),
            (Section.KEY_TASKS.value, _("Key tasks")),
        ],
        "config": config,
        "meeting_url": reverse("briefing:meeting", args=[meeting.pk]),
    }
    return render(request, "briefing/room.html", context)


def _tick(user, pk: int, cursor: int, language: str) -> dict:
    """One poll of the room, in a worker thread: focus, status, bridge points, directives after the cursor."""
    with translation.override(language):
        meeting = selectors.meeting_live(pk)
        return {
            "focus": _focus_json(meeting),
            "status": {"status": meeting.status, "label": str(MeetingStatus(meeting.status).label)},
            "points": _points_json(meeting),
            "directives": _visible_directives(user, meeting, cursor),
        }


def _cursor(request) -> int:
    for raw in (request.headers.get("Last-Event-ID"), request.GET.get("after")):
        if raw:
            try:
                return max(0, int(raw))
            except ValueError:
                continue
    return 0


async def room_events(user, pk: int, cursor: int, language: str, max_s: float = STREAM_MAX_S):
    started = last_sent = time.monotonic()
    sent: dict[str, object] = {}
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    # PostgreSQL: woken by the briefing services' notifications on the meeting (core.live_bus); SQLite: polled.
    subscription = live_bus.bus.subscribe(live_bus.meeting_topic(pk))
    try:
        while time.monotonic() - started < max_s:
            subscription.clear()
            state = await sync_to_async(_tick)(user, pk, cursor, language)
            out = []
            for key in ("focus", "status", "points"):
                if sent.get(key) != state[key]:
                    sent[key] = state[key]
                    out.append(live_bus.sse_event(key, state[key]))
            for directive in state["directives"]:
                cursor = directive["id"]
                out.append(live_bus.sse_event("directive", directive, cursor))
            if out:
                last_sent = time.monotonic()
                for chunk in out:
                    yield chunk
            elif time.monotonic() - last_sent >= STREAM_HEARTBEAT_S:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            await subscription.wait(STREAM_TICK_S, deadline=last_sent + STREAM_HEARTBEAT_S)
    except asyncio.CancelledError:
        log.debug("room stream of meeting %s closed by the client at directive %s", pk, cursor)
        raise
    finally:
        subscription.close()


async def room_stream(request, pk: int):
    """text/event-stream of a meeting's live room (see the module docstring)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    meeting = await sync_to_async(_meeting)(user, pk)
    language = _language(request)
    response = StreamingHttpResponse(
        room_events(user, meeting.pk, _cursor(request), language),
        content_type="text/event-stream; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
