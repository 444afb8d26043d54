"""What the live pages show, read once for the group page, the mine page and its live stream: a tile per sensor
(value, time, colour, flashing, stale), sensors grouped by area, and the sensor counts of each mine."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone, translation

from headframe.org.models import Unit, UnitKind
from headframe.org.selectors import subtree
from headframe.telemetry import engine, selectors
from headframe.telemetry.models import (
    STALE_LIMIT,
    AlarmCondition,
    AlarmState,
    Location,
    SensorKind,
)
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


# As selectors.alarms_open: these colour no tile and flash nothing (the operator's hidden list shows them).
HIDDEN_STATES = ("shelved", "suppressed", "out_of_service")
_labels: dict[str, tuple[dict[str, str], dict[str, str]]] = {}


def choice_labels() -> tuple[dict[str, str], dict[str, str]]:
    """Sensor kind and location labels in the active language, made once per language: Django's
    get_FOO_display() hashes the whole (lazy) choices list on every call, ~0.25 ms each, twice per tile."""
    language = translation.get_language() or ""
    labels = _labels.get(language)
    if labels is None:
        labels = _labels[language] = (
            {value: str(text) for value, text in SensorKind.choices},
            {value: str(text) for value, text in Location.choices},
        )
    return labels


_ROW_FIELDS = (
    "id",
    "code",
    "kind",
    "location",
    "period_s",
    "in_service",
    "state__last_ts",
    "state__last_value",
    "state__online",
)
_PAGE_FIELDS = ("name", "unit_of_measure", "position_id")


@dataclass(frozen=True, slots=True)
class TileSensor:
    """What the live page needs of a tile's sensor beyond the tile (its name and unit, its chart, its place)."""

    id: int
    code: str
    name: str
    kind: str
    unit_of_measure: str
    position_id: int


def sensor_tiles(user, site: Unit, now_ms: int | None = None, *, for_page: bool = True) -> list[dict]:
    """Every sensor of the site as the live page shows it: value, time, colour, flashing, stale. Two queries
    (the sensors with their state, the site's open conditions as plain values), whatever the sensor count, and
    plain rows, no model objects (a mine has hundreds of sensors). `for_page=False` (the live stream, every
    second for every mine followed): only the fields tile_json sends."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    now = timezone.now()
    visible_sensors = selectors.sensors_visible(user, site=site.code).select_related(None)
    if for_page:
        plain = [
            (*row[:9], TileSensor(row[0], row[1], row[9], row[2], row[10], row[11]))
            for row in visible_sensors.values_list(*_ROW_FIELDS, *_PAGE_FIELDS)
        ]
    else:
        plain = [(*row, None) for row in visible_sensors.values_list(*_ROW_FIELDS)]
    in_service = {row[0]: row[5] for row in plain}
    open_conditions = (
        AlarmCondition.objects.filter(sensor__gateway__site=site, sensor__isnull=False)
        .filter(Q(active=True) | Q(acked=False))
        .values_list("sensor_id", "limit_code", "active", "acked", "latched", "shelved_until", "suppressed")
    )
    colour: dict[int, str] = {}
    unacked: set[int] = set()
    stale_alarm: set[int] = set()
    for sid, limit_code, active, acked, latched, shelved_until, suppressed in open_conditions:
        if sid not in in_service:
            continue
        state = engine.display_state(
            engine.ConditionState(active=active, acked=acked, latched=latched),
            shelved=bool(shelved_until and shelved_until > now),
            suppressed=suppressed,
            out_of_service=not in_service[sid],
        )
        if state in HIDDEN_STATES:
            continue
        if not acked:
            unacked.add(sid)
        if limit_code == STALE_LIMIT:
            if active:
                stale_alarm.add(sid)
            continue
        shown = colour_of(state)
        if STATE_RANK.get(shown, 0) > STATE_RANK.get(colour.get(sid, "normal"), 0):
            colour[sid] = shown
    kind_labels, location_labels = choice_labels()
    tiles = []
    for sid, code, kind, location, period_s, serving, ts, value, online, sensor in plain:
        online = bool(online)  # a sensor without a state row (never heard of) is not online
        stale = (
            not online or ts is None or now_ms - ts > STALE_PERIODS * 1000 * period_s or sid in stale_alarm
        )
        css = "oos" if not serving else colour.get(sid, "normal")
        if css == "normal" and stale:
            css = "stale"
        at = local(ts)
        tile = {
            "code": code,
            "value": value,
            "text": value_text(kind, value),
            "ts": ts,
            "time": at.strftime("%H:%M:%S") if at else "—",
            "css": css,
            "flash": sid in unacked and css != "oos",
            "stale": stale and css != "oos",
        }
        if for_page:
            tile["sensor"] = sensor
            tile["short"] = KIND_SHORT.get(kind, kind)
            tile["kind_label"] = kind_labels.get(kind, kind)
            tile["location_label"] = location_labels.get(location, location)
        tiles.append(tile)
    return tiles


PAGE_ONLY = ("sensor", "short", "kind_label", "location_label")


def tile_json(tile: dict) -> dict:
    """What the stream sends of a tile (the page's own fields stay on the page)."""
    return {k: v for k, v in tile.items() if k not in PAGE_ONLY}


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
    fields = ("id", "code", "name_vi", "name_en", "kind", "parent_id")
    units = {u.id: u for u in subtree(site).only(*fields)}
    by_position: dict[int, list[dict]] = defaultdict(list)
    for tile in tiles:
        by_position[tile["sensor"].position_id].append(tile)
    elsewhere = set(by_position) - set(units)  # a sensor hung outside the site's tree: its own group
    if elsewhere:
        units.update({u.id: u for u in Unit.objects.filter(id__in=elsewhere).only(*fields)})
    areas: dict[int, dict] = {}
    for position_id, group in by_position.items():
        position = units[position_id]
        area = units.get(position.parent_id) if position.kind == UnitKind.POSITION else position
        area = area or position
        entry = areas.setdefault(area.id, {"area": area, "positions": []})
        entry["positions"].append({"position": position, "tiles": group})
    out = sorted(areas.values(), key=lambda a: a["area"].code)
    for entry in out:
        entry["positions"].sort(key=lambda p: p["position"].code)
    return out
