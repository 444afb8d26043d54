"""Live monitoring pages: the mines of the group, one mine live (server-sent events), one sensor's history.

Pages read through telemetry.selectors and act through telemetry.services, like the API. The live page gets
its updates from one SSE stream per browser: new alarm-journal entries (the journal id is the SSE event id,
so a reconnecting browser resumes with Last-Event-ID) and the sensor values that changed since the last tick.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections import defaultdict

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponse, HttpResponseForbidden, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from headframe.core.errors import HeadframeError, NotFound
from headframe.org.models import Unit, UnitKind
from headframe.org.roles import Perm
from headframe.org.selectors import ancestors, scope_for, subtree, unit_get
from headframe.telemetry import selectors, services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    STALE_LIMIT,
    AlarmState,
    JournalEvent,
    Priority,
    SensorKind,
)
from headframe.web.context_processors import picked_unit
from headframe.web.templatetags.headframe import number

log = logging.getLogger(__name__)

# Decimals shown per sensor kind (the transmitters' resolution); running/stopped kinds are shown as words.
KIND_DECIMALS = {
    SensorKind.CH4: 2,
    SensorKind.CO: 0,
    SensorKind.O2: 1,
    SensorKind.CO2: 2,
    SensorKind.AIR_VELOCITY: 2,
    SensorKind.TEMPERATURE: 1,
    SensorKind.WATER_LEVEL: 2,
}
KIND_SHORT = {
    SensorKind.CH4: "CH₄",
    SensorKind.CO: "CO",
    SensorKind.O2: "O₂",
    SensorKind.CO2: "CO₂",
    SensorKind.AIR_VELOCITY: gettext_lazy("air"),
    SensorKind.TEMPERATURE: gettext_lazy("temperature"),
    SensorKind.WATER_LEVEL: gettext_lazy("water level"),
    SensorKind.PUMP_RUNNING: gettext_lazy("pump"),
    SensorKind.FAN_RUNNING: gettext_lazy("fan"),
}
ON_OFF_KINDS = frozenset({SensorKind.PUMP_RUNNING, SensorKind.FAN_RUNNING})
ALERT_PRIORITIES = frozenset({Priority.URGENT, Priority.HIGH})  # these sound and show the banner
STALE_PERIODS = (
    3  # a sensor silent for 3 reporting periods is shown grey (the engine's stale alarm uses 3 too)
)
SHELVE_CHOICES = (15, 30, 60, 120, 240, 480)

STREAM_TICK_S = 1.0
STREAM_MAX_S = 300.0  # then the stream ends and the browser reconnects with Last-Event-ID
STREAM_HEARTBEAT_S = 15.0
STREAM_RETRY_MS = 2000


# ---------------------------------------------------------------- helpers


def _site(user, code: str) -> Unit:
    try:
        unit = unit_get(user, code)
    except NotFound:
        raise Http404(code) from None
    if unit.kind != UnitKind.SITE:
        raise Http404(code)
    return unit


def may_handle(user, site: Unit) -> bool:
    scope = scope_for(user)
    return scope.allows(Perm.DISPATCH, site.path) or scope.allows(Perm.SAFETY, site.path)


def local(ts_ms: int | None) -> dt.datetime | None:
    if ts_ms is None:
        return None
    return timezone.localtime(dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC))


def value_text(kind: str, value: float | None) -> str:
    """A sensor value in the active language: 0,42 in Vietnamese; running/stopped for pumps and fans."""
    if value is None:
        return "—"
    if kind in ON_OFF_KINDS:
        return _("running") if value >= 0.5 else _("stopped")
    return number(value, KIND_DECIMALS.get(kind, 2))


def _colour(state: str) -> str:
    if state == AlarmState.OUT_OF_SERVICE:
        return "oos"
    if state in (AlarmState.ACTIVE_UNACKED, AlarmState.ACTIVE_ACKED, AlarmState.LATCHED):
        return "alarm"
    if state == AlarmState.RETURNED_UNACKED:
        return "returned"
    if state in (AlarmState.SHELVED, AlarmState.SUPPRESSED):
        return "shelved"
    return "normal"


STATE_RANK = {"normal": 0, "shelved": 1, "returned": 2, "alarm": 3}
SITE_RANK = {**STATE_RANK, "stale": 1}


def sensor_tiles(user, site: Unit, now_ms: int | None = None) -> list[dict]:
    """Every sensor of the site as the live page shows it: value, time, colour, flashing, stale."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    rows = selectors.live_states(user, site_code=site.code)
    open_views = selectors.alarms_open(user, site=site.code)
    colour: dict[int, str] = {}
    unacked: set[int] = set()
    stale_alarm: set[int] = set()
    for view in open_views:
        sid = view.sensor.id
        if not view.condition.acked:
            unacked.add(sid)
        if view.condition.limit_code == STALE_LIMIT:
            if view.condition.active:
                stale_alarm.add(sid)
            continue
        shown = _colour(view.state)
        if STATE_RANK.get(shown, 0) > STATE_RANK.get(colour.get(sid, "normal"), 0):
            colour[sid] = shown
    tiles = []
    for row in rows:
        sensor = row["sensor"]
        ts = row["ts"]
        stale = (
            not row["online"]
            or ts is None
            or now_ms - ts > STALE_PERIODS * 1000 * sensor.period_s
            or sensor.id in stale_alarm
        )
        css = "oos" if row["state"] == AlarmState.OUT_OF_SERVICE else colour.get(sensor.id, "normal")
        if css == "normal" and stale:
            css = "stale"
        at = local(ts)
        tiles.append(
            {
                "code": sensor.code,
                "value": row["value"],
                "text": value_text(sensor.kind, row["value"]),
                "ts": ts,
                "time": at.strftime("%H:%M:%S") if at else "—",
                "css": css,
                "flash": sensor.id in unacked and css != "oos",
                "stale": stale and css != "oos",
                "sensor": sensor,
                "short": KIND_SHORT.get(sensor.kind, sensor.kind),
            }
        )
    return tiles


def _tile_json(tile: dict) -> dict:
    return {k: v for k, v in tile.items() if k not in ("sensor", "short")}


def _rule_for(code: str, limit_code: str):
    info = directory.get(code)
    if info is None:
        return None
    return next((r for r in info.rules if r.code == limit_code), None)


def alarm_message(sensor, alarm, rule) -> str:
    """The value that raised the alarm against its limit in the active language, e.g. "CH₄ 1,26 % ≥ 1,00 %"."""
    if alarm is None:
        return ""
    if alarm.threshold is None:
        return alarm.message
    decimals = KIND_DECIMALS.get(sensor.kind, 2)
    high = rule is None or rule.limit.direction == "high"
    unit = f" {sensor.unit_of_measure}" if sensor.unit_of_measure else ""
    shown = value_text(sensor.kind, alarm.raised_value)
    limit = number(alarm.threshold, decimals)
    return f"{KIND_SHORT.get(sensor.kind, sensor.kind)} {shown}{unit} {'≥' if high else '≤'} {limit}{unit}"


def alarm_rows(user, site: Unit) -> list[dict]:
    """The open alarms of a site, worst first, as the alarm list shows them."""
    rows = []
    for view in selectors.alarms_open(user, site=site.code):
        cond, alarm, sensor = view.condition, view.alarm, view.sensor
        rule = _rule_for(sensor.code, cond.limit_code)
        priority = alarm.priority if alarm else Priority.HIGH
        stale = cond.limit_code == STALE_LIMIT
        rows.append(
            {
                "id": cond.id,
                "sensor": sensor,
                "position": sensor.position,
                "limit": cond.limit_code,
                "priority": priority,
                "priority_label": Priority(priority).label,
                "state": view.state,
                "state_label": AlarmState(view.state).label,
                "unacked": not cond.acked,
                "active": cond.active,
                "latched": cond.latched,
                "stale": stale,
                "message": _("no data from the sensor") if stale else alarm_message(sensor, alarm, rule),
                "acked_at": alarm.acked_at if alarm else None,
                "acked_by": alarm.acked_by.username if alarm and alarm.acked_by_id else "",
                "ack_comment": alarm.ack_comment if alarm else "",
                "value": value_text(sensor.kind, cond.last_value) if not stale else "—",
                "raised_at": alarm.raised_at if alarm else None,
                "action": rule.action_vi if rule else "",
                "shelvable": not (rule and rule.limit.latching),
                "alert": priority in ALERT_PRIORITIES and not cond.acked,
            }
        )
    return rows


def _alarm_context(request, site: Unit, error: str = "") -> dict:
    alarms = alarm_rows(request.user, site)
    return {
        "site": site,
        "alarms": alarms,
        "alerts": [a for a in alarms if a["alert"]],
        "can_handle": may_handle(request.user, site),
        "shelve_choices": SHELVE_CHOICES,
        "alarm_error": error,
    }


def _areas(site: Unit, tiles: list[dict]) -> list[dict]:
    """Sensors by work position, positions by area (a sensor hung on an area stands for its own group)."""
    units = {u.id: u for u in subtree(site).only("id", "code", "name_vi", "name_en", "kind", "parent_id")}
    by_position: dict[int, list[dict]] = defaultdict(list)
    for tile in tiles:
        by_position[tile["sensor"].position_id].append(tile)
    areas: dict[int, dict] = {}
    for position_id, group in by_position.items():
        position = units.get(position_id) or group[0]["sensor"].position
        area = units.get(position.parent_id) if position.kind == UnitKind.POSITION else position
        area = area or position
        entry = areas.setdefault(area.id, {"area": area, "positions": []})
        entry["positions"].append({"position": position, "tiles": group})
    out = sorted(areas.values(), key=lambda a: a["area"].code)
    for entry in out:
        entry["positions"].sort(key=lambda p: p["position"].code)
    return out


def _limits(code: str) -> list[dict]:
    info = directory.get(code)
    if info is None:
        return []
    return [
        {
            "code": r.code,
            "threshold": r.limit.threshold,
            "direction": r.limit.direction,
            "priority": r.priority,
            "priority_label": str(Priority(r.priority).label),
        }
        for r in info.rules
    ]


def _chart_sensor(sensor) -> dict:
    return {
        "code": sensor.code,
        "name": sensor.name or sensor.get_kind_display(),
        "kind": sensor.kind,
        "kind_label": str(sensor.get_kind_display()),
        "unit": sensor.unit_of_measure,
        "decimals": KIND_DECIMALS.get(sensor.kind, 2),
        "limits": _limits(sensor.code),
        "history_url": reverse("telemetry:sensor", args=[sensor.code]),
    }


# ---------------------------------------------------------------- pages


@login_required
def group(request):
    """Every mine with sensors in the user's scope (under the picked unit), with its worst alarm state."""
    user = request.user
    root = picked_unit(request)
    sensors = selectors.sensors_visible(user)
    if root is not None:
        sensors = sensors.filter(gateway__site__path__startswith=root.path)
    silent_before = int(time.time() * 1000) - F("period_s") * (STALE_PERIODS * 1000)
    silent = Q(state__online=False) | Q(state__last_ts__isnull=True) | Q(state__last_ts__lt=silent_before)
    counts = {
        row["gateway__site"]: row
        for row in sensors.order_by()
        .values("gateway__site")
        .annotate(
            sensors=Count("id"),
            offline=Count("id", filter=Q(in_service=True) & silent),
            out_of_service=Count("id", filter=Q(in_service=False)),
        )
    }
    sites = Unit.objects.filter(pk__in=counts).select_related("parent").order_by("path")
    per_site: dict[int, dict] = defaultdict(
        lambda: {"active": 0, "unacked": 0, "worst": "normal", "alert": 0}
    )
    for view in selectors.alarms_open(user):
        site_id = view.sensor.gateway.site_id
        if site_id not in counts:
            continue
        entry = per_site[site_id]
        entry["active"] += int(view.condition.active)
        entry["unacked"] += int(not view.condition.acked)
        priority = view.alarm.priority if view.alarm else Priority.HIGH
        if not view.condition.acked and priority in ALERT_PRIORITIES:
            entry["alert"] += 1
        shown = "stale" if view.condition.limit_code == STALE_LIMIT else _colour(view.state)
        if SITE_RANK.get(shown, 0) > SITE_RANK.get(entry["worst"], 0):
            entry["worst"] = shown
    mines = []
    for site in sites:
        c, a = counts[site.id], per_site[site.id]
        worst = a["worst"]
        if worst == "normal" and c["offline"]:
            worst = "stale"
        mines.append({"site": site, **c, **a, "worst": worst, "flash": a["unacked"] > 0})
    context = {"mines": mines, "root": root, "active_nav": "telemetry", "now": timezone.now()}
    return render(request, "telemetry/group.html", context)


@login_required
def mine(request, code: str):
    site = _site(request.user, code)
    tiles = sensor_tiles(request.user, site)
    scope = scope_for(request.user)
    selected = next((t for t in tiles if t["flash"]), None) or next(
        (t for t in tiles if t["sensor"].kind == SensorKind.CH4), tiles[0] if tiles else None
    )
    config = {
        "site": site.code,
        "stream": reverse("telemetry:stream", args=[site.code]),
        "alarms": reverse("telemetry:alarms", args=[site.code]),
        "readings": "/api/v1/telemetry/sensors/{code}/readings",
        "cursor": selectors.journal_last_id(site_path=site.path),
        "selected": selected["code"] if selected else None,
        "sensors": {t["code"]: _chart_sensor(t["sensor"]) for t in tiles},
        "lang": translation.get_language(),
        "labels": {
            "live": _("live"),
            "reconnecting": _("reconnecting…"),
            "value": _("value"),
            "no_data": _("no readings in the last hour"),
        },
    }
    context = {
        **_alarm_context(request, site),
        "ancestors": [a for a in ancestors(site) if scope.allows(Perm.VIEW, a.path)],
        "areas": _areas(site, tiles),
        "sensor_count": len(tiles),
        "config": config,
        "active_nav": "telemetry",
    }
    return render(request, "telemetry/mine.html", context)


@login_required
def alarms_partial(request, code: str):
    """The alarm list alone, for the live page to refresh when the journal moves."""
    site = _site(request.user, code)
    return render(request, "telemetry/_alarms.html", _alarm_context(request, site))


ACTIONS = ("ack", "shelve", "unshelve", "reset")


@login_required
@require_POST
def alarm_action(request, condition_id: int, action: str):
    """Acknowledge (with a comment), shelve (minutes + reason), unshelve or reset an alarm from the page.
    The services check the role; answers the refreshed alarm list to the live page's script, else redirects."""
    if action not in ACTIONS:
        raise Http404(action)
    try:
        view = selectors.condition_get(request.user, condition_id)
    except NotFound:
        raise Http404(condition_id) from None
    site = view.sensor.gateway.site
    error = ""
    comment = request.POST.get("comment", "").strip()[:2000]
    try:
        if action == "ack":
            services.alarm_acknowledge(actor=request.user, condition_id=condition_id, comment=comment)
        elif action == "shelve":
            try:
                minutes = int(request.POST.get("minutes", ""))
            except ValueError:
                minutes = 0
            services.alarm_shelve(
                actor=request.user,
                condition_id=condition_id,
                minutes=minutes,
                reason=request.POST.get("reason", "")[:2000],
            )
        elif action == "unshelve":
            services.alarm_unshelve(actor=request.user, condition_id=condition_id, comment=comment)
        else:
            services.alarm_reset(actor=request.user, condition_id=condition_id, comment=comment)
    except HeadframeError as exc:
        if exc.status == 403:
            return HttpResponseForbidden(_("Handling alarms needs the dispatcher or safety officer role."))
        error = str(exc.items[0].msg if exc.items else exc)
    if request.headers.get("X-Requested-With") == "fetch":
        return render(request, "telemetry/_alarms.html", _alarm_context(request, site, error))
    if error:
        messages.error(request, error)
    return redirect("telemetry:mine", site.code)


@login_required
def sensor_history(request, code: str):
    try:
        sensor = selectors.sensor_get(request.user, code)
    except NotFound:
        raise Http404(code) from None
    site = sensor.gateway.site
    journal = []
    for entry in selectors.journal_for_sensor(sensor):
        journal.append(
            {
                "at": entry.at,
                "limit": entry.condition.limit_code,
                "event": JournalEvent(entry.event).label,
                "state": AlarmState(entry.state).label,
                "value": value_text(sensor.kind, entry.value) if entry.value is not None else "",
                "priority": entry.alarm.priority if entry.alarm else "",
                "user": entry.user.username if entry.user else "",
                "comment": entry.comment,
            }
        )
    state = getattr(sensor, "state", None)
    config = {
        **_chart_sensor(sensor),
        "readings": f"/api/v1/telemetry/sensors/{sensor.code}/readings",
        "lang": translation.get_language(),
        "labels": {
            "avg": _("average"),
            "range": _("min – max"),
            "value": _("value"),
            "loading": _("loading…"),
            "no_data": _("no readings in this period"),
            "step": {"raw": _("every reading"), "1m": _("per minute"), "1h": _("per hour")},
        },
    }
    context = {
        "sensor": sensor,
        "site": site,
        "state": state,
        "value": value_text(sensor.kind, state.last_value if state else None),
        "at": local(state.last_ts if state else None),
        "limits": _limits(sensor.code),
        "journal": journal,
        "config": config,
        "ranges": [("6h", _("6 hours")), ("1d", _("1 day")), ("7d", _("7 days")), ("30d", _("30 days"))],
        "active_nav": "telemetry",
    }
    return render(request, "telemetry/sensor.html", context)


# ---------------------------------------------------------------- live stream (SSE)


def _sse(event: str, data, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _journal_json(entry) -> dict:
    at = timezone.localtime(entry.at)
    return {
        "id": entry.id,
        "condition": entry.condition_id,
        "sensor": entry.condition.sensor.code,
        "limit": entry.condition.limit_code,
        "event": entry.event,
        "event_label": str(JournalEvent(entry.event).label),
        "state": entry.state,
        "priority": entry.alarm.priority if entry.alarm else None,
        "message": entry.alarm.message if entry.alarm else "",
        "user": entry.user.username if entry.user else None,
        "comment": entry.comment,
        "time": at.strftime("%H:%M:%S"),
    }


def _poll(user, site: Unit, cursor: int, language: str) -> tuple[list[dict], list[dict]]:
    """One tick of the stream, in a worker thread: journal entries after the cursor and every sensor tile."""
    with translation.override(language):
        entries = selectors.journal_after(user, after_id=cursor, site_path=site.path)
        return [_journal_json(e) for e in entries], [_tile_json(t) for t in sensor_tiles(user, site)]


def _cursor(request) -> int:
    for raw in (request.headers.get("Last-Event-ID"), request.GET.get("after")):
        if raw:
            try:
                return max(0, int(raw))
            except ValueError:
                continue
    return -1  # no cursor: start from the newest entry


async def _events(user, site: Unit, cursor: int, language: str, max_s: float = STREAM_MAX_S):
    started = last_sent = time.monotonic()
    sent: dict[str, tuple] = {}
    if cursor < 0:
        cursor = await sync_to_async(selectors.journal_last_id)(site_path=site.path)
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    try:
        while time.monotonic() - started < max_s:
            entries, tiles = await sync_to_async(_poll)(user, site, cursor, language)
            for entry in entries:
                cursor = entry["id"]
                yield _sse("journal", entry, cursor)
            changed = []
            for tile in tiles:
                key = (tile["ts"], tile["value"], tile["css"], tile["flash"], tile["stale"])
                if sent.get(tile["code"]) != key:
                    sent[tile["code"]] = key
                    changed.append(tile)
            if changed:
                yield _sse("sensors", changed)
            if entries or changed:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= STREAM_HEARTBEAT_S:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_TICK_S)
    except asyncio.CancelledError:
        log.debug("live stream of %s closed by the client at journal id %s", site.code, cursor)
        raise


async def stream(request, code: str):
    """text/event-stream of a mine: `journal` events (id = journal id) and `sensors` events (changed tiles)."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    language = translation.get_language()
    site = await sync_to_async(_site)(user, code)
    response = StreamingHttpResponse(
        _events(user, site, _cursor(request), language), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
