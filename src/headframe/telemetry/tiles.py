"""What the live pages show, read once for the group page, the mine page and its live stream: a tile per sensor
(value, time, colour, flashing, stale), sensors grouped by area, and the sensor counts of each mine."""

from __future__ import annotations

import time
from collections import defaultdict

from django.db.models import Count, F, Q, QuerySet

from headframe.org.models import Unit, UnitKind
from headframe.org.selectors import subtree
from headframe.telemetry import selectors
from headframe.telemetry.models import STALE_LIMIT, AlarmState
from headframe.telemetry.words import KIND_SHORT, local, value_text

# A sensor silent for 3 reporting periods is shown grey (the engine's stale alarm uses 3 too).
STALE_PERIODS = 3


def colour_of(state: str) -> str:
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
        if view.sensor is None:  # a gateway's own condition (gateway lost) colours no tile
            continue
        sid = view.sensor.id
        if not view.condition.acked:
            unacked.add(sid)
        if view.condition.limit_code == STALE_LIMIT:
            if view.condition.active:
                stale_alarm.add(sid)
            continue
        shown = colour_of(view.state)
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


def tile_json(tile: dict) -> dict:
    return {k: v for k, v in tile.items() if k not in ("sensor", "short")}


def site_sensor_counts(user, root: Unit | None = None) -> dict[int, dict]:
    """Site id → {"gateway__site", "sensors", "offline", "out_of_service"} of the sensors the user may see (under
    `root`): offline is in service but silent for STALE_PERIODS periods, off line, or never heard of."""
    sensors = selectors.sensors_visible(user)
    if root is not None:
        sensors = sensors.filter(gateway__site__path__startswith=root.path)
    silent_before = int(time.time() * 1000) - F("period_s") * (STALE_PERIODS * 1000)
    silent = Q(state__online=False) | Q(state__last_ts__isnull=True) | Q(state__last_ts__lt=silent_before)
    return {
        row["gateway__site"]: row
        for row in sensors.order_by()
        .values("gateway__site")
        .annotate(
            sensors=Count("id"),
            offline=Count("id", filter=Q(in_service=True) & silent),
            out_of_service=Count("id", filter=Q(in_service=False)),
        )
    }


def sites_of(site_ids) -> QuerySet[Unit]:
    """The sites (with their parent), in tree order."""
    return Unit.objects.filter(pk__in=site_ids).select_related("parent").order_by("path")


def areas_of(site: Unit, tiles: list[dict]) -> list[dict]:
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
