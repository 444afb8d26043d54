"""Pages: the mines of the group, one mine live, one sensor's history (last hours/days or calendar dates)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from headframe.org.roles import Perm
from headframe.org.selectors import ancestors, picked_unit, scope_for
from headframe.telemetry import selectors, services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    STALE_LIMIT,
    AlarmState,
    JournalEvent,
    Priority,
    SensorKind,
)
from headframe.telemetry.tiles import (
    SITE_RANK,
    areas_of,
    colour_of,
    sensor_tiles,
    site_sensor_counts,
    sites_of,
)
from headframe.telemetry.views.console import (
    ALERT_PRIORITIES,
    BANNER_MAX,
    alarm_row,
    banner_alarms,
    console_context,
    may_service,
    sensor_or_404,
    site_or_404,
)
from headframe.telemetry.words import (
    KIND_DECIMALS,
    journal_comment,
    limit_meaning,
    local,
    value_text,
)

HISTORY_MAX_DAYS = 400  # a calendar period of the history chart


def _limits(code: str, kind: str = "", memo: dict | None = None) -> list[dict]:
    """The sensor's alarm limits as its chart draws them, in the active language. With `memo` (one page's):
    sensors that share their rules (the directory builds them once per kind, location and site) share them."""
    info = directory.get(code)
    if info is None:
        return []
    kind = kind or info.kind
    if memo is not None:
        known = memo.get((id(info.rules), kind))
        # The very rules object, held in the memo: its id cannot be reused by another one meanwhile.
        if known is not None and known[0] is info.rules:
            return known[1]
    limits = [
        {
            "code": r.code,
            "label": limit_meaning(r.code, kind=kind, rule=r, rules=info.rules),
            "threshold": r.limit.threshold,
            "direction": r.limit.direction,
            "latching": r.limit.latching,
            "priority": r.priority,
            "priority_label": str(Priority(r.priority).label),
            "action": r.action_vi,
            "window_min": r.limit.window_ms // 60_000,
        }
        for r in info.rules
    ]
    if memo is not None:
        memo[(id(info.rules), kind)] = (info.rules, limits)
    return limits


def _chart_sensor(sensor, kind_label: str | None = None, memo: dict | None = None) -> dict:
    kind_label = str(sensor.get_kind_display()) if kind_label is None else kind_label
    return {
        "code": sensor.code,
        "name": sensor.name or kind_label,
        "kind": sensor.kind,
        "kind_label": kind_label,
        "unit": sensor.unit_of_measure,
        "decimals": KIND_DECIMALS.get(sensor.kind, 2),
        # Rate-of-rise limits are no level: they are not drawn as lines on a chart of values.
        "limits": [
            {k: v for k, v in limit.items() if k not in ("action",)}
            for limit in _limits(sensor.code, sensor.kind, memo)
            if limit["direction"] != "rise"
        ],
        "history_url": history_url(sensor.code),
    }


_URL_SAFE_CODE = re.compile(r"[A-Za-z0-9_.-]+")


def history_url(code: str) -> str:
    """reverse() once per page, not once per sensor (a mine has hundreds): codes are URL-safe ASCII."""
    if not _URL_SAFE_CODE.fullmatch(code):
        return reverse("telemetry:sensor", args=[code])
    return _history_url_pattern(get_script_prefix()).replace("SENSORCODE", code)


@functools.lru_cache(maxsize=8)
def _history_url_pattern(script_prefix: str) -> str:
    return reverse("telemetry:sensor", args=["SENSORCODE"])  # under the prefix of this request


TILE_HTML = (
    '<div class="sensor st-{css}{flash}{stale}" role="button" tabindex="0" data-sensor="{code}"'
    ' data-testid="sensor-{code}" title="{kind} · {location}">\n'
    '  <span class="s-kind">{short}</span>\n'
    '  <span class="s-value"><b class="v" data-testid="value-{code}">{text}</b> <small>{unit}</small></span>\n'
    '  <span class="s-code">{code}</span>\n'
    '  <span class="s-time"><span class="t">{time}</span><span class="s-nosignal"> · {no_signal}</span></span>\n'
    "</div>"
)


def tiles_html(tiles: list[dict], no_signal: str) -> SafeString:
    """A position's sensor tiles as HTML, every value escaped. Formatted here rather than in a template loop:
    a mine has hundreds of tiles and the template engine spent ~0,2 ms on each (most of the page's time)."""
    return mark_safe(
        "\n".join(
            TILE_HTML.format(
                css=escape(t["css"]),
                flash=" flash" if t["flash"] else "",
                stale=" is-stale" if t["stale"] else "",
                code=escape(t["code"]),
                kind=escape(t["kind_label"]),
                location=escape(t["location_label"]),
                short=escape(t["short"]),
                text=escape(t["text"]),
                unit=escape(t["sensor"].unit_of_measure),
                time=escape(t["time"]),
                no_signal=escape(no_signal),
            )
            for t in tiles
        )
    )


@login_required
def group(request):
    """Every mine with sensors in the user's scope (under the picked unit), with its worst alarm state."""
    user = request.user
    root = picked_unit(request)
    counts = site_sensor_counts(user, root)
    sites = sites_of(counts)
    per_site: dict[int, dict] = defaultdict(
        lambda: {"active": 0, "unacked": 0, "worst": "normal", "alert": 0, "gateways_lost": 0}
    )
    alerts = []
    for view in selectors.alarms_open(user):
        site_id = view.site.id
        if site_id not in counts:
            continue
        entry = per_site[site_id]
        entry["active"] += int(view.condition.active)
        entry["unacked"] += int(not view.condition.acked)
        entry["gateways_lost"] += int(view.gateway is not None and view.condition.active)
        priority = view.alarm.priority if view.alarm else Priority.HIGH
        if not view.condition.acked and priority in ALERT_PRIORITIES:
            entry["alert"] += 1
            alerts.append(alarm_row(view, {}))
        shown = "stale" if view.condition.limit_code == STALE_LIMIT else colour_of(view.state)
        if SITE_RANK.get(shown, 0) > SITE_RANK.get(entry["worst"], 0):
            entry["worst"] = shown
    mines = []
    for site in sites:
        c, a = counts[site.id], per_site[site.id]
        worst = a["worst"]
        if worst == "normal" and c["offline"]:
            worst = "stale"
        mines.append({"site": site, **c, **a, "worst": worst, "flash": a["unacked"] > 0})
    alerts = banner_alarms(alerts)
    context = {
        "mines": mines,
        "root": root,
        "active_nav": "telemetry",
        "now": timezone.now(),
        "banner": alerts[:BANNER_MAX],
        "banner_more": max(0, len(alerts) - BANNER_MAX),
        "alerts": alerts,
    }
    return render(request, "telemetry/group.html", context)


@login_required
def mine(request, code: str):
    site = site_or_404(request.user, code)
    tiles = sensor_tiles(request.user, site)
    limits: dict = {}  # per shared rule set, for the charts of this page
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
        "sensors": {t["code"]: _chart_sensor(t["sensor"], t["kind_label"], limits) for t in tiles},
        "lang": translation.get_language(),
        "labels": {
            "live": _("live"),
            "reconnecting": _("reconnecting…"),
            "value": _("value"),
            "no_data": _("no readings in the last hour"),
        },
    }
    areas = areas_of(site, tiles)
    no_signal = _("no signal")
    for area in areas:
        for position in area["positions"]:
            position["tiles_html"] = tiles_html(position["tiles"], no_signal)
    context = {
        **console_context(request, site),
        "ancestors": [a for a in ancestors(site) if scope.allows(Perm.VIEW, a.path)],
        "areas": areas,
        "sensor_count": len(tiles),
        "config": config,
        "active_nav": "telemetry",
    }
    return render(request, "telemetry/mine.html", context)


def parse_day(raw: str) -> dt.date:
    """A calendar date as people here write it (dd/mm/yyyy) or as a date input sends it (yyyy-mm-dd)."""
    raw = raw.strip()
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise ValueError(raw)


def history_period(get) -> tuple[dict | None, str]:
    """The calendar period asked for (?from=dd/mm/yyyy&to=dd/mm/yyyy, both days whole, local time): its ISO
    bounds with offset for the readings API, or an error in words."""
    raw_from, raw_to = get.get("from", "").strip(), get.get("to", "").strip()
    if not raw_from and not raw_to:
        return None, ""
    try:
        first = parse_day(raw_from or raw_to)
        last = parse_day(raw_to or raw_from)
    except ValueError:
        return None, _("Write the dates as dd/mm/yyyy.")
    if last < first:
        return None, _("The end date is before the start date.")
    if (last - first).days >= HISTORY_MAX_DAYS:
        return None, _("Choose at most %(days)d days.") % {"days": HISTORY_MAX_DAYS}
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "from_ms": int(start.timestamp() * 1000),
        "to_ms": int(end.timestamp() * 1000),
        "first": first.strftime("%d/%m/%Y"),
        "last": last.strftime("%d/%m/%Y"),
    }, ""


@login_required
def sensor_history(request, code: str):
    sensor = sensor_or_404(request.user, code)
    site = sensor.gateway.site
    info = directory.get(sensor.code)
    rules = info.rules if info is not None else ()
    journal = []
    for entry in selectors.journal_for_sensor(sensor):
        limit_code = entry.condition.limit_code
        rule = next((r for r in rules if r.code == limit_code), None)
        journal.append(
            {
                "at": entry.at,
                # Out of / back in service is about the sensor, not one of its limits.
                "limit": ""
                if entry.event in (JournalEvent.OUT_OF_SERVICE, JournalEvent.IN_SERVICE)
                else limit_meaning(limit_code, kind=sensor.kind, rule=rule, rules=rules),
                "event": JournalEvent(entry.event).label,
                "state": AlarmState(entry.state).label,
                "value": value_text(sensor.kind, entry.value) if entry.value is not None else "",
                "priority": entry.alarm.priority if entry.alarm else "",
                "user": entry.user.username if entry.user else "",
                "comment": journal_comment(entry),
            }
        )
    state = getattr(sensor, "state", None)
    period, period_error = history_period(request.GET)
    config = {
        **_chart_sensor(sensor),
        "readings": f"/api/v1/telemetry/sensors/{sensor.code}/readings",
        "lang": translation.get_language(),
        "period": period,
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
        "limits": _limits(sensor.code, sensor.kind),
        "journal": journal,
        "config": config,
        "ranges": [("6h", _("6 hours")), ("1d", _("1 day")), ("7d", _("7 days")), ("30d", _("30 days"))],
        "period": period,
        "period_error": period_error,
        "period_from": request.GET.get("from", "") if period_error else (period or {}).get("first", ""),
        "period_to": request.GET.get("to", "") if period_error else (period or {}).get("last", ""),
        "can_service": may_service(request.user, site),
        "hours_choices": range(1, services.OUT_OF_SERVICE_MAX_HOURS + 1),
        "default_hours": services.OUT_OF_SERVICE_DEFAULT_HOURS,
        "active_nav": "telemetry",
    }
    return render(request, "telemetry/sensor.html", context)
