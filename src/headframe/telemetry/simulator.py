"""`headframe simulate`: realistic readings for the registered sensors, with scripted incidents, sent the way real
gateways send them (one JSON batch per gateway per message, over MQTT QoS 1 or the HTTP API).

The model is a `World` driven by simulated time (seconds since start). Every sensor samples on its own period
with a fixed phase; its value is a mean-reverting drift (Ornstein–Uhlenbeck) around a per-sensor baseline plus
white noise, kept inside a healthy band, so a quiet mine raises no alarms. Pump stations cycle between a low and
a high mark. Scenarios override chosen sensors along scripted curves (keyframes), freeze them, silence them or
stop a pump, and announce each step. Everything random comes from `--seed` and the sensor's code, so the same
seed gives the same values whichever other sensors are simulated.

Timestamps are wall-clock (ingest refuses readings from the future): `--speedup N` makes the world evolve N×
faster, so sensors also report N× more often.
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import random
import signal
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

try:
    import orjson

    def _dumps(obj) -> bytes:
        return orjson.dumps(obj)

    def _loads(raw):
        return orjson.loads(raw)
except ImportError:  # pragma: no cover - orjson is a dependency; keep the simulator usable without it
    import json

    def _dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def _loads(raw):
        return json.loads(raw)


PROG = "headframe simulate"
TOPIC = "headframe/v1/{site}/{gateway}/readings"
READINGS_PATH = "/api/v1/telemetry/readings"
MAX_BATCH = 500
SCENARIOS = (
    "methane_buildup",
    "frozen_sensor",
    "pump_failure",
    "co_heating",
    "alarm_flood",
    "gateway_outage",
)


class SimulatorError(Exception):
    """A refused run (bad options, no sensors, the server refuses our token): one line, exit 1."""


# ---------------------------------------------------------------- sensors


@dataclass(frozen=True, slots=True)
class SimSensor:
    code: str
    kind: str
    location: str
    position: str
    position_kind: str
    gateway: str
    site: str
    period_s: int


def sensors_from_db(sites: Sequence[str] = ()) -> list[SimSensor]:
    """The in-service sensors (of the given site codes), in code order."""
    from headframe.telemetry.models import Sensor

    qs = Sensor.objects.filter(in_service=True).select_related("gateway__site", "position").order_by("code")
    if sites:
        qs = qs.filter(gateway__site__code__in=list(sites))
    return [
        SimSensor(
            code=s.code,
            kind=s.kind,
            location=s.location,
            position=s.position.code,
            position_kind=s.position.position_kind,
            gateway=s.gateway.code,
            site=s.gateway.site.code,
            period_s=s.period_s,
        )
        for s in qs
    ]


# ---------------------------------------------------------------- the physical model


@dataclass(frozen=True, slots=True)
class Profile:
    """Baseline drawn uniformly in [base_lo, base_hi]; drift and noise as a fraction of the baseline when
    `relative`; values clamped to [lo, hi] (a healthy band, inside every default limit) and rounded."""

    base_lo: float
    base_hi: float
    drift_sd: float
    tau_s: float
    noise_sd: float
    lo: float
    hi: float
    decimals: int
    relative: bool = False


CONSTANT = Profile(1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0)
PROFILES: dict[tuple[str, str], Profile] = {
    ("ch4_pct", "face_return"): Profile(0.15, 0.35, 0.04, 900, 0.01, 0.02, 0.55, 2),
    ("ch4_pct", "development_heading"): Profile(0.10, 0.35, 0.04, 900, 0.01, 0.02, 0.55, 2),
    ("ch4_pct", "general_return"): Profile(0.10, 0.25, 0.03, 1800, 0.008, 0.02, 0.45, 2),
    ("ch4_pct", ""): Profile(0.05, 0.20, 0.02, 900, 0.008, 0.0, 0.35, 2),
    ("co_ppm", ""): Profile(0.5, 4.0, 0.8, 1200, 0.3, 0.0, 7.0, 1),
    ("o2_pct", ""): Profile(20.6, 20.85, 0.05, 1200, 0.02, 20.45, 20.95, 2),
    ("co2_pct", ""): Profile(0.05, 0.2, 0.02, 1200, 0.01, 0.0, 0.35, 2),
    ("air_velocity_ms", "face_return"): Profile(0.8, 2.0, 0.05, 600, 0.03, 0.4, 3.5, 2, relative=True),
    ("air_velocity_ms", "development_heading"): Profile(
        0.6, 1.2, 0.05, 600, 0.03, 0.55, 3.5, 2, relative=True
    ),
    ("air_velocity_ms", "roadway"): Profile(1.0, 3.0, 0.05, 600, 0.03, 0.5, 6.0, 2, relative=True),
    ("air_velocity_ms", "shaft"): Profile(3.0, 7.0, 0.04, 600, 0.02, 2.0, 10.0, 2, relative=True),
    ("air_velocity_ms", "fan_house"): Profile(8.0, 12.0, 0.03, 600, 0.02, 6.0, 14.0, 2, relative=True),
    ("air_velocity_ms", ""): Profile(1.0, 2.5, 0.05, 600, 0.03, 0.5, 6.0, 2, relative=True),
    ("temperature_c", ""): Profile(26.0, 28.5, 0.3, 3600, 0.1, 24.0, 29.3, 1),
    ("water_level_m", ""): Profile(0.0, 0.0, 0.0, 1.0, 0.01, 0.0, 50.0, 2),
    ("fan_running", ""): CONSTANT,
    ("pump_running", ""): CONSTANT,
}


def profile_for(kind: str, location: str) -> Profile:
    return PROFILES.get((kind, location)) or PROFILES.get((kind, "")) or CONSTANT


def _clipped_gauss(rng: random.Random) -> float:
    return max(-3.0, min(3.0, rng.gauss(0.0, 1.0)))


class Process:
    """One sensor's baseline: an Ornstein–Uhlenbeck drift sampled exactly at irregular times, plus noise."""

    __slots__ = ("base", "drift", "last_t", "profile", "rng")

    def __init__(self, profile: Profile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng
        self.base = rng.uniform(profile.base_lo, profile.base_hi)
        self.drift = 0.0
        self.last_t: float | None = None

    def sample(self, t: float) -> tuple[float, float]:
        """(baseline with drift, one noise draw) at time t; draws the same random numbers whatever the caller
        does with them, so scenarios never shift another sample's randomness."""
        p = self.profile
        scale = self.base if p.relative else 1.0
        z_drift, z_noise = _clipped_gauss(self.rng), _clipped_gauss(self.rng)
        if self.last_t is None:
            self.drift = p.drift_sd * scale * z_drift * 0.5
        else:
            decay = math.exp(-(t - self.last_t) / p.tau_s)
            self.drift = self.drift * decay + p.drift_sd * scale * math.sqrt(1 - decay * decay) * z_drift
        self.last_t = t
        level = min(p.hi, max(p.lo, self.base + self.drift))
        return level, p.noise_sd * scale * z_noise


class PumpStation:
    """A sump filled by inflow and emptied by a pump that starts at the high mark and stops at the low mark."""

    def __init__(self, rng: random.Random) -> None:
        self.low = rng.uniform(0.9, 1.1)
        self.high = rng.uniform(1.9, 2.1)
        self.inflow = 1.0 / (60 * rng.uniform(10, 20))  # m/s: ~1 m rise in 10–20 min
        self.outflow = 1.0 / (60 * rng.uniform(3, 6)) + self.inflow  # net draw-down ~1 m in 3–6 min
        self.level = rng.uniform(self.low, self.high)
        self.running = rng.random() < 0.3
        self.t = 0.0

    def advance(self, t: float, blocked: Callable[[float], bool]) -> None:
        while self.t + 1.0 <= t:
            self.t += 1.0
            if blocked(self.t):
                self.running = False
            elif self.level >= self.high:
                self.running = True
            elif self.level <= self.low:
                self.running = False
            self.level += self.inflow - (self.outflow if self.running else 0.0)
            self.level = max(0.0, min(49.0, self.level))


# ---------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True)
class Curve:
    """Keyframes (t since the scenario started, value); None = the sensor's own value. Modes: abs (the value),
    mul (× the own value), add (+ the own value), step (abs, held until the next key). Outside its keys: no effect."""

    keys: tuple[tuple[float, float | None], ...]
    mode: str = "abs"

    @property
    def end(self) -> float:
        return self.keys[-1][0]

    def apply(self, t: float, own: float, noise: float) -> float | None:
        keys = self.keys
        if t < keys[0][0] or t > keys[-1][0]:
            return None
        i = 0
        while i + 1 < len(keys) and keys[i + 1][0] <= t:
            i += 1
        t0, v0 = keys[i]
        if self.mode == "step":
            return own + noise if v0 is None else v0
        identity = {"abs": own, "mul": 1.0, "add": 0.0}[self.mode]
        x = identity if v0 is None else v0
        if i + 1 < len(keys):
            t1, v1 = keys[i + 1]
            x += ((identity if v1 is None else v1) - x) * (t - t0) / (t1 - t0)
        if self.mode == "mul":
            return (own + noise) * x
        if self.mode == "add":
            return own + noise + x
        return x + noise


@dataclass
class ScenarioRun:
    name: str
    start: float  # simulated seconds since the simulator started
    target: str
    steps: list[tuple[float, str]] = field(default_factory=list)  # (t since start, what happens)
    curves: dict[str, Curve] = field(default_factory=dict)  # sensor code → curve
    frozen: dict[str, tuple[float, float]] = field(default_factory=dict)  # sensor code → [from, to)
    silent: dict[str, tuple[float, float]] = field(default_factory=dict)
    pumps_off: dict[str, tuple[float, float]] = field(default_factory=dict)  # position code → [from, to)
    positions: set[str] = field(default_factory=set)  # claimed, so overlapping scenarios pick others

    @cached_property
    def end(self) -> float:
        """When its last effect or step is over (simulated seconds); read once the run is fully built."""
        ends = [c.end for c in self.curves.values()]
        ends += [b for _a, b in (*self.frozen.values(), *self.silent.values(), *self.pumps_off.values())]
        ends += [t for t, _ in self.steps]
        return self.start + max(ends, default=0.0)


@dataclass(frozen=True, slots=True)
class StepEvent:
    t: float  # simulated seconds since the simulator started
    scenario: str
    text: str


def _minutes(m: float) -> float:
    return 60.0 * m


def _within(span: tuple[float, float] | None, t: float) -> bool:
    return span is not None and span[0] <= t < span[1]


class World:
    """Every simulated sensor, pump station and running scenario; `advance(t)` yields the readings due."""

    def __init__(
        self,
        sensors: Iterable[SimSensor],
        *,
        seed: int = 1,
        start_ms: int = 0,
        speedup: float = 1.0,
        scenarios: Sequence[str] = (),
        repeat: bool = False,
        scenario_start: float = 30.0,
        scenario_gap: float = 300.0,
    ) -> None:
        self.sensors = sorted(sensors, key=lambda s: s.code)
        self.seed = seed
        self.start_ms = start_ms
        self.speedup = speedup
        self.t = 0.0
        self.by_code = {s.code: s for s in self.sensors}
        self.by_position: dict[str, dict[tuple[str, str], SimSensor]] = defaultdict(dict)
        for s in self.sensors:
            self.by_position[s.position].setdefault((s.kind, s.location), s)
        self.processes = {
            s.code: Process(profile_for(s.kind, s.location), random.Random(f"{seed}:{s.code}"))
            for s in self.sensors
        }
        self.stations = {
            s.position: PumpStation(random.Random(f"{seed}:station:{s.position}"))
            for s in self.sensors
            if s.kind in ("water_level_m", "pump_running")
        }
        self.last_sent: dict[str, float] = {}
        self.last_ts: dict[str, int] = {}
        self._due: list[tuple[float, int, str]] = []
        for i, s in enumerate(self.sensors):
            phase = random.Random(f"{seed}:phase:{s.code}").uniform(0, s.period_s)
            self._due.append((phase, i, s.code))
        heapq.heapify(self._due)
        self.runs: list[ScenarioRun] = []
        self._live: list[ScenarioRun] = []  # runs not yet ended, earliest end first
        self.events: list[StepEvent] = []  # every step announced so far
        self._pending_events: list[tuple[float, int, StepEvent]] = []
        self._event_seq = 0
        self._names = list(scenarios)
        for name in self._names:
            if name not in SCENARIOS:
                raise SimulatorError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIOS)}")
        self._repeat = repeat
        self._scenario_start = scenario_start
        self._gap = scenario_gap
        self._next_scenario = 0  # index over the (possibly repeating) schedule
        self._occurrences: dict[str, int] = defaultdict(int)

    # -- time

    def ts_of(self, t: float) -> int:
        return self.start_ms + round(t * 1000.0 / self.speedup)

    # -- scheduling

    def _scheduled(self, index: int) -> tuple[float, str] | None:
        if not self._names or (index >= len(self._names) and not self._repeat):
            return None
        return self._scenario_start + index * self._gap, self._names[index % len(self._names)]

    def _start_due_scenarios(self, t: float) -> None:
        while (nxt := self._scheduled(self._next_scenario)) is not None and nxt[0] <= t:
            self._next_scenario += 1
            start, name = nxt
            self.start_scenario(name, start)

    def start_scenario(self, name: str, start: float) -> ScenarioRun | None:
        occurrence = self._occurrences[name]
        self._occurrences[name] += 1
        rng = random.Random(f"{self.seed}:scenario:{name}:{occurrence}")
        busy = {p for r in self._live if r.end > start for p in r.positions}
        run = BUILDERS[name](self, rng, start, busy)
        if run is None:
            self._announce(StepEvent(start, name, "no suitable sensors among those simulated: skipped"))
            return None
        self.runs.append(run)
        self._live.append(run)
        self._live.sort(key=lambda r: r.end)
        for at, text in run.steps:
            self._announce(StepEvent(start + at, name, text))
        return run

    def _announce(self, event: StepEvent) -> None:
        self._event_seq += 1
        heapq.heappush(self._pending_events, (event.t, self._event_seq, event))

    # -- values

    def _active_runs(self, t: float) -> list[ScenarioRun]:
        if self._live and self._live[0].end < t:
            self._live = [r for r in self._live if r.end >= t]  # finished runs stay in self.runs (history)
        return [r for r in self._live if r.start <= t]

    def value_at(self, sensor: SimSensor, t: float, runs: list[ScenarioRun]) -> float | None:
        """The reading a sensor sends at t, or None when it sends nothing (silenced)."""
        process = self.processes[sensor.code]
        own, noise = process.sample(t)
        silent = frozen = False
        curve_value = None
        for run in runs:
            rel = t - run.start
            if _within(run.silent.get(sensor.code), rel):
                silent = True
            if _within(run.frozen.get(sensor.code), rel):
                frozen = True
            if curve_value is None and sensor.code in run.curves:
                curve_value = run.curves[sensor.code].apply(rel, own, noise)
        station = self.stations.get(sensor.position)
        if station is not None:
            station.advance(
                t, lambda at: any(_within(r.pumps_off.get(sensor.position), at - r.start) for r in runs)
            )
            if sensor.kind == "water_level_m":
                own = station.level
            elif sensor.kind == "pump_running":
                own, noise = (1.0 if station.running else 0.0), 0.0
        if silent:
            return None
        if frozen and sensor.code in self.last_sent:
            return self.last_sent[sensor.code]
        value = curve_value if curve_value is not None else own + noise
        lo, hi = _PHYSICAL.get(sensor.kind, (-math.inf, math.inf))
        value = round(min(hi, max(lo, value)), process.profile.decimals)
        return value

    def advance(self, until: float) -> list[tuple[SimSensor, int, float]]:
        """Readings (sensor, ts, value) due in (previous until, until], in time order; step events go to
        `self.events` (and are returned by `take_events`)."""
        out: list[tuple[SimSensor, int, float]] = []
        due = self._due
        while due and due[0][0] <= until:
            t, i, code = heapq.heappop(due)
            self._start_due_scenarios(t)
            sensor = self.by_code[code]
            heapq.heappush(due, (t + sensor.period_s, i, code))
            value = self.value_at(sensor, t, self._active_runs(t))
            if value is None:
                continue
            ts = self.ts_of(t)
            previous = self.last_ts.get(code)
            if previous is not None and ts <= previous:
                ts = previous + 1  # never two readings of one sensor in the same millisecond
            self.last_ts[code] = ts
            self.last_sent[code] = value
            out.append((sensor, ts, value))
        self._start_due_scenarios(until)
        self.t = max(self.t, until)
        return out

    def take_events(self) -> list[StepEvent]:
        ready = []
        while self._pending_events and self._pending_events[0][0] <= self.t:
            ready.append(heapq.heappop(self._pending_events)[2])
        self.events.extend(ready)
        return ready

    # -- lookups for scenario builders

    def positions(self, position_kind: str, *, needs: Sequence[tuple[str, str]] = (), busy=()) -> list[str]:
        found = []
        for position, sensors in sorted(self.by_position.items()):
            if position in busy:
                continue
            any_sensor = next(iter(sensors.values()))
            if any_sensor.position_kind != position_kind:
                continue
            if all(need in sensors for need in needs):
                found.append(position)
        return found

    def sensor(self, position: str, kind: str, location: str | None = None) -> SimSensor | None:
        for (k, loc), s in self.by_position.get(position, {}).items():
            if k == kind and (location is None or loc == location):
                return s
        return None

    def site_of(self, position: str) -> str:
        return next(iter(self.by_position[position].values())).site


_PHYSICAL = {
    "ch4_pct": (0.0, 100.0),
    "co_ppm": (0.0, 1000.0),
    "o2_pct": (0.0, 25.0),
    "co2_pct": (0.0, 10.0),
    "air_velocity_ms": (0.0, 30.0),
    "temperature_c": (-20.0, 100.0),
    "water_level_m": (0.0, 50.0),
    "pump_running": (0.0, 1.0),
    "fan_running": (0.0, 1.0),
}

Builder = Callable[[World, random.Random, float, set], "ScenarioRun | None"]

# Methane build-up keyframes (seconds since the fan stopped): past 0.8 % at ~28 s, past 1.0 % at ~55 s.
METHANE_KEYS: tuple[tuple[float, float | None], ...] = (
    (0, None),
    (30, 0.84),
    (60, 1.06),
    (120, 1.35),
    (180, 1.35),
    (240, 0.7),
    (300, 0.55),
    (330, 1.2),  # a second outburst (a roof fall releases gas) while the first trip is still latched
    (360, 0.6),
    (420, None),
)
METHANE_FAN_RESTART_S = 180.0


def build_methane_buildup(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    faces = world.positions(
        "longwall_face", needs=[("ch4_pct", "face_return"), ("air_velocity_ms", "face_return")], busy=busy
    )
    if not faces:
        return None
    face = rng.choice(faces)
    site = world.site_of(face)
    ch4 = world.sensor(face, "ch4_pct", "face_return")
    vel = world.sensor(face, "air_velocity_ms", "face_return")
    fans = [
        p
        for p in world.positions("main_fan", needs=[("fan_running", "fan_house")])
        if world.site_of(p) == site
    ]
    run = ScenarioRun("methane_buildup", start, face, positions={face})
    restart = METHANE_FAN_RESTART_S
    if fans:
        fan = fans[0]
        run.curves[world.sensor(fan, "fan_running").code] = Curve(((0, 0.0), (restart, None)), mode="step")
        fan_vel = world.sensor(fan, "air_velocity_ms")
        if fan_vel is not None:
            run.curves[fan_vel.code] = Curve(
                ((0, 1.0), (20, 0.05), (restart, 0.05), (restart + 30, 1.0)), "mul"
            )
        cause = f"main fan {fan} stops (fan_running 0)"
    else:
        cause = "the auxiliary fan ventilating the face stops"
    run.curves[vel.code] = Curve(((0, 1.0), (30, 0.08), (restart, 0.08), (restart + 30, 1.0)), mode="mul")
    run.curves[ch4.code] = Curve(METHANE_KEYS)
    run.steps = [
        (0, f"{cause}: air velocity at face {face} falls, methane starts to accumulate"),
        (30, f"{ch4.code} CH₄ past 0.8 % (high alarm after its 10 s on-delay); {vel.code} below 0.25 m/s"),
        (60, f"{ch4.code} CH₄ past 1.0 % (urgent trip: de-energise the face, withdraw people)"),
        (restart, "fan restarted: air back, methane clearing (the trip stays latched until reset)"),
        (
            330,
            f"second outburst: {ch4.code} CH₄ past 1.0 % again — the latched trip annunciates a new alarm, "
            "even if the first was acknowledged",
        ),
        (420, f"face {face} back to baseline"),
    ]
    return run


def build_co_heating(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    faces = world.positions("longwall_face", needs=[("co_ppm", "face_return")], busy=busy)
    if not faces:
        return None
    face = rng.choice(faces)
    co = world.sensor(face, "co_ppm", "face_return")
    run = ScenarioRun("co_heating", start, face, positions={face})
    m = _minutes
    run.curves[co.code] = Curve(
        ((0, None), (m(10), 9.0), (m(20), 18.5), (m(30), 32.0), (m(40), 32.0), (m(55), None))
    )
    temp = world.sensor(face, "temperature_c")
    if temp is not None:
        run.curves[temp.code] = Curve(((0, 0.0), (m(30), 0.6), (m(40), 0.6), (m(55), 0.0)), mode="add")
    run.steps = [
        (0, f"spontaneous heating in the goaf behind face {face}: {co.code} CO starts creeping up"),
        (m(10), f"{co.code} CO ~9 ppm and rising"),
        (m(20), f"{co.code} CO past 17 ppm (urgent alarm)"),
        (m(40), "goaf sealed and inerted: CO falling"),
        (m(55), f"face {face} back to baseline"),
    ]
    return run


def build_pump_failure(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    stations = world.positions("pump_station", needs=[("pump_running", "sump")], busy=busy)
    if not stations:
        return None
    station = rng.choice(stations)
    m = _minutes
    run = ScenarioRun("pump_failure", start, station, positions={station}, pumps_off={station: (0, m(30))})
    level = world.sensor(station, "water_level_m")
    run.steps = [
        (0, f"pump at {station} trips (pump_running 0): the sump fills"),
        (m(15), f"{level.code if level else station} water still rising with the pump down"),
        (m(30), f"pump at {station} repaired and running: level drawing down"),
    ]
    return run


def build_frozen_sensor(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    candidates = [
        world.sensor(p, "ch4_pct")
        for p in world.positions("longwall_face", busy=busy)
        + world.positions("development_heading", busy=busy)
    ]
    candidates = [s for s in candidates if s is not None]
    if not candidates:
        return None
    sensor = rng.choice(candidates)
    m = _minutes
    run = ScenarioRun(
        "frozen_sensor",
        start,
        sensor.code,
        frozen={sensor.code: (0, m(5))},
        silent={sensor.code: (m(5), m(15))},
        positions={sensor.position},
    )
    run.steps = [
        (0, f"{sensor.code} freezes: it repeats exactly the same value"),
        (m(5), f"{sensor.code} stops sending (stale alarm after 3 periods = {3 * sensor.period_s} s)"),
        (m(15), f"{sensor.code} replaced: sending again"),
    ]
    return run


def build_gateway_outage(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    gateways = sorted({s.gateway for s in world.sensors})
    if not gateways:
        return None
    gateway = rng.choice(gateways)
    m = _minutes
    codes = [s.code for s in world.sensors if s.gateway == gateway]
    run = ScenarioRun("gateway_outage", start, gateway, silent={c: (0, m(5)) for c in codes})
    run.steps = [
        (0, f"gateway {gateway} stops publishing ({len(codes)} sensors silent: stale alarms follow)"),
        (m(5), f"gateway {gateway} back online"),
    ]
    return run


def build_alarm_flood(world: World, rng: random.Random, start: float, busy: set) -> ScenarioRun | None:
    sites = sorted({s.site for s in world.sensors})
    if not sites:
        return None
    site = rng.choice(sites)
    m = _minutes
    positions = [
        p
        for kind in ("conveyor", "longwall_face", "development_heading")
        for p in world.positions(kind, busy=busy)
        if world.site_of(p) == site
    ]
    plan: list[tuple[SimSensor, Curve]] = []

    def ramp(onset: float, target: float, mode: str = "abs") -> Curve:
        identity = None if mode == "abs" else 1.0
        return Curve(
            ((0, identity), (onset, identity), (onset + 40, target), (m(10), target), (m(12), identity)), mode
        )

    onset = 10.0
    for p in positions:  # smoke from a belt fire spreads along the roadway into the faces downstream
        co = world.sensor(p, "co_ppm")
        if co is not None and len([1 for s, _ in plan if s.kind == "co_ppm"]) < 7:
            plan.append((co, ramp(onset, rng.uniform(22, 45))))
            onset += rng.uniform(10, 25)
    for p in positions:
        o2 = world.sensor(p, "o2_pct")
        if o2 is not None and len([1 for s, _ in plan if s.kind == "o2_pct"]) < 4:
            plan.append((o2, ramp(onset, rng.uniform(19.3, 19.8))))
            onset += rng.uniform(5, 15)
    for p in positions:
        vel = world.sensor(p, "air_velocity_ms", "development_heading")
        if vel is not None and len([1 for s, _ in plan if s.kind == "air_velocity_ms"]) < 3:
            plan.append((vel, ramp(onset, 0.15, mode="mul")))
            onset += rng.uniform(5, 15)
    if len(plan) < 3:
        return None
    run = ScenarioRun("alarm_flood", start, site, positions={s.position for s, _ in plan})
    run.curves = {s.code: c for s, c in plan}
    first = plan[0][0]
    run.steps = [
        (0, f"belt fire near {first.position} at {site}: smoke spreads through the district"),
        (
            onset + 40,
            f"{len(plan)} sensors at {site} beyond their limits within {math.ceil((onset + 40) / 60)} min",
        ),
        (m(10), f"fire out, district ventilated: {site} recovering"),
        (m(12), f"{site} back to baseline"),
    ]
    return run


BUILDERS: dict[str, Builder] = {
    "methane_buildup": build_methane_buildup,
    "co_heating": build_co_heating,
    "pump_failure": build_pump_failure,
    "frozen_sensor": build_frozen_sensor,
    "gateway_outage": build_gateway_outage,
    "alarm_flood": build_alarm_flood,
}


# ---------------------------------------------------------------- messages and transports


def messages_of(
    readings: Iterable[tuple[SimSensor, int, float]], *, batch: int = MAX_BATCH
) -> list[tuple[str, str, list[dict]]]:
    """(site, gateway, readings as JSON objects) per gateway, at most `batch` readings each."""
    by_gateway: dict[str, list[tuple[SimSensor, int, float]]] = defaultdict(list)
    for item in readings:
        by_gateway[item[0].gateway].append(item)
    out = []
    for gateway in sorted(by_gateway):
        items = by_gateway[gateway]
        site = items[0][0].site
        for i in range(0, len(items), batch):
            out.append(
                (
                    site,
                    gateway,
                    [{"sensor": s.code, "ts": ts, "value": v} for s, ts, v in items[i : i + batch]],
                )
            )
    return out


class Transport:
    """Sends one gateway message; keeps what could not be delivered and resends it (never drops silently)."""

    name = "transport"

    def __init__(self, out=None) -> None:
        self.out = out or sys.stdout
        self.sent_messages = 0
        self.sent_readings = 0

    def say(self, text: str) -> None:
        print(f"simulate: {text}", file=self.out, flush=True)

    def send(self, site: str, gateway: str, seq: int, readings: list[dict]) -> None:
        raise NotImplementedError

    def pump(self) -> None:
        """Retry what is buffered (called every tick)."""

    @property
    def buffered(self) -> int:
        return 0

    def close(self, timeout: float = 10.0) -> int:
        """Flush; returns how many messages could not be delivered."""
        return 0


class PrintTransport(Transport):
    """--transport print: the MQTT topic and JSON payload on stdout, one message per line (for a look)."""

    name = "print"

    def send(self, site, gateway, seq, readings) -> None:
        payload = _dumps({"gateway": gateway, "seq": seq, "readings": readings}).decode()
        print(TOPIC.format(site=site, gateway=gateway), payload, file=self.out, flush=True)
        self.sent_messages += 1
        self.sent_readings += len(readings)


class MqttTransport(Transport):
    """paho-mqtt, QoS 1. paho keeps every unacknowledged QoS 1 message and resends it after a reconnect; above
    MAX_UNACKED (mids are 16-bit) the rest wait here. On exit we wait for the broker's acks."""

    name = "mqtt"
    MAX_UNACKED = 20_000

    def __init__(self, host: str, port: int, client_id: str = "", out=None, keepalive: int = 30) -> None:
        super().__init__(out)
        import paho.mqtt.client as mqtt

        self._mqtt = mqtt
        self.host, self.port = host, port
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"headframe-sim-{os.getpid()}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self.published = 0
        self.acked = 0
        self.backlog: deque[tuple[str, bytes, int]] = deque()
        self.connected = threading.Event()
        self._ever_connected = False
        self._closing = False
        self.client.connect_async(host, port, keepalive=keepalive)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code.is_failure:
            self.say(f"broker {self.host}:{self.port} refused the connection: {reason_code}")
            return
        unacked = self.unacked
        if self._ever_connected:
            self.say(
                f"broker back: resending {unacked} unconfirmed message(s) and {len(self.backlog)} buffered"
            )
        else:
            self.say(f"connected to MQTT broker {self.host}:{self.port} (QoS 1)")
        self._ever_connected = True
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        if self.connected.is_set() and not self._closing:
            self.say(f"broker connection lost ({reason_code}): buffering, will resend")
        self.connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code=None, properties=None) -> None:
        with self._lock:
            self.acked += 1

    @property
    def unacked(self) -> int:
        with self._lock:
            return self.published - self.acked

    @property
    def buffered(self) -> int:
        return len(self.backlog) + self.unacked

    def _publish(self, topic: str, payload: bytes, n: int) -> bool:
        if self.unacked >= self.MAX_UNACKED:
            return False
        info = self.client.publish(topic, payload, qos=1)
        if info.rc not in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_NO_CONN):
            return False  # e.g. queue full: keep it here
        with self._lock:
            self.published += 1
        self.sent_messages += 1
        self.sent_readings += n
        return True

    def send(self, site, gateway, seq, readings) -> None:
        topic = TOPIC.format(site=site, gateway=gateway)
        payload = _dumps({"gateway": gateway, "seq": seq, "readings": readings})
        if self.backlog or not self._publish(topic, payload, len(readings)):
            self.backlog.append((topic, payload, len(readings)))
        self.pump()

    def pump(self) -> None:
        while self.backlog and self._publish(*self.backlog[0]):
            self.backlog.popleft()

    def close(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (self.backlog or self.unacked):
            self.pump()
            time.sleep(0.05)
        left = len(self.backlog) + self.unacked
        if left:
            self.say(f"{left} message(s) not confirmed by the broker at exit (it may not have them)")
        self._closing = True
        self.client.disconnect()
        self.client.loop_stop()
        return left


PostFn = Callable[[str, bytes, dict], tuple[int, bytes]]


def urllib_post(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> tuple[int, bytes]:
    """POST; returns (status, body). Raises OSError when the server cannot be reached."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class HttpTransport(Transport):
    """POST /api/v1/telemetry/readings with the gateway's bearer token; unreachable server or 5xx: the
    message waits in the buffer and is resent in order (backing off up to 30 s); 401/403: stop with one line."""

    name = "http"
    RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

    def __init__(self, url: str, token: str, *, post: PostFn | None = None, out=None, clock=time.monotonic):
        super().__init__(out)
        self.url = url.rstrip("/") + READINGS_PATH
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.post = post or urllib_post
        self.clock = clock
        self.backlog: deque[tuple[bytes, int, str]] = deque()
        self.retry_at = 0.0
        self.failures = 0
        self.outage_reported = False
        self.stored = 0
        self.duplicates = 0
        self.quarantined: dict[str, int] = defaultdict(int)
        self.refused = 0

    @property
    def buffered(self) -> int:
        return len(self.backlog)

    def send(self, site, gateway, seq, readings) -> None:
        self.backlog.append(
            (_dumps({"gateway": gateway, "seq": seq, "readings": readings}), len(readings), gateway)
        )
        self.pump()

    def pump(self) -> None:
        while self.backlog and self.clock() >= self.retry_at:
            body, n, gateway = self.backlog[0]
            try:
                status, answer = self.post(self.url, body, self.headers)
            except OSError as exc:
                self._failed(f"server {self.url} unreachable ({getattr(exc, 'reason', exc)})")
                return
            if status in self.RETRYABLE:
                self._failed(f"server answered {status}")
                return
            if status in (401, 403, 404):
                raise SimulatorError(f"{self.url} refused gateway {gateway}: HTTP {status} {_detail(answer)}")
            self.backlog.popleft()
            if self.outage_reported:
                self.say(f"server back: resending {len(self.backlog) + 1} buffered message(s)")
            self.failures, self.outage_reported = 0, False
            if status >= 400:
                self.refused += 1  # the payload itself is wrong: resending would not help; say so loudly
                self.say(f"message from {gateway} refused: HTTP {status} {_detail(answer)}")
                continue
            self.sent_messages += 1
            self.sent_readings += n
            self._account(answer)

    def _failed(self, why: str) -> None:
        self.failures += 1
        self.retry_at = self.clock() + min(30.0, 0.5 * 2 ** min(self.failures, 6))
        if not self.outage_reported:
            self.say(f"{why}: buffering, will resend")
            self.outage_reported = True

    def _account(self, answer: bytes) -> None:
        try:
            result = _loads(answer)
        except ValueError:
            return
        self.stored += result.get("stored", 0)
        self.duplicates += result.get("duplicates", 0)
        for reason, n in (result.get("quarantined") or {}).items():
            if not self.quarantined.get(reason):
                self.say(f"server quarantined readings: {reason} (see the gateway health page)")
            self.quarantined[reason] += n

    def close(self, timeout: float = 10.0) -> int:
        if self.outage_reported:
            timeout = min(timeout, 2.0)  # the server is already gone (e.g. `headframe demo` shutting down)
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline:
            self.retry_at = 0.0
            self.pump()
            if self.backlog:
                time.sleep(0.5)
        if self.backlog:
            self.say(f"{len(self.backlog)} message(s) could not be delivered before exit")
        return len(self.backlog)


def _detail(answer: bytes) -> str:
    try:
        detail = _loads(answer).get("detail")
    except (ValueError, AttributeError):
        return answer[:200].decode("utf-8", "replace")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail))
    return str(detail)


# ---------------------------------------------------------------- the run loop


@dataclass
class RunStats:
    readings: int = 0
    messages: int = 0
    wall_s: float = 0.0


def run(
    world: World,
    transport: Transport,
    *,
    duration: float = 0.0,
    rate: float = 1.0,
    batch: int = MAX_BATCH,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    out=None,
    status_every: float = 60.0,
    stop: threading.Event | None = None,
) -> RunStats:
    """Advance the world with the clock and send each gateway's readings at most `rate` times a second,
    in batches of at most `batch`. `duration` 0 runs until interrupted (or `stop` is set)."""
    out = out or sys.stdout
    start = clock()
    interval = 1.0 / rate
    gateways = sorted({s.gateway for s in world.sensors})
    # spread the gateways over the interval so they do not all send at the same instant
    next_send = {g: i * interval / max(1, len(gateways)) for i, g in enumerate(gateways)}
    pending: dict[str, list] = defaultdict(list)
    seq: dict[str, int] = defaultdict(int)
    stats = RunStats()
    next_status = status_every
    tick = min(0.1, interval / 2)

    def flush(gateway: str) -> None:
        for site, gw, readings in messages_of(pending.pop(gateway, []), batch=batch):
            seq[gw] += 1
            transport.send(site, gw, seq[gw], readings)
            stats.messages += 1
            stats.readings += len(readings)

    try:
        while True:
            elapsed = clock() - start
            finished = (duration and elapsed >= duration) or (stop is not None and stop.is_set())
            if finished:
                elapsed = duration or elapsed
            for item in world.advance(elapsed * world.speedup):
                pending[item[0].gateway].append(item)
            for event in world.take_events():
                print(
                    f"simulate: [{_clock_text(event.t)}] {event.scenario}: {event.text}", file=out, flush=True
                )
            for gateway in gateways:
                if finished or elapsed >= next_send[gateway]:
                    if pending.get(gateway):
                        flush(gateway)
                    next_send[gateway] = max(next_send[gateway] + interval, elapsed)
            transport.pump()
            if status_every and elapsed >= next_status:
                next_status += status_every
                print(
                    f"simulate: {stats.readings:,} readings in {stats.messages:,} messages so far "
                    f"({stats.readings / max(elapsed, 1e-9):,.0f}/s), {transport.buffered} buffered",
                    file=out,
                    flush=True,
                )
            if finished:
                break
            sleep(tick)
    finally:
        stats.wall_s = clock() - start
    return stats


def _clock_text(t: float) -> str:
    t = int(t)
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    from headframe.cli import OneLineParser

    p = OneLineParser(
        prog=PROG,
        description="Publish realistic readings for the registered in-service sensors, with scripted incidents. "
        "Each gateway sends one JSON batch per message: over MQTT (QoS 1, topic "
        "headframe/v1/<site>/<gateway>/readings) or POST /api/v1/telemetry/readings.",
    )
    p.add_argument("--transport", choices=("mqtt", "http", "print"), default="mqtt", help="default mqtt")
    p.add_argument(
        "--host", default=os.environ.get("HEADFRAME_MQTT_HOST", "127.0.0.1"), help="MQTT broker host"
    )
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("HEADFRAME_MQTT_PORT", "1883")),
        help="MQTT broker port",
    )
    p.add_argument("--client-id", default="", help="MQTT client id (default headframe-sim-<pid>)")
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the app's base URL for --transport http")
    p.add_argument(
        "--token",
        default=None,
        help="bearer token of a user with the gateway role (default: $HEADFRAME_TOKEN)",
    )
    p.add_argument(
        "--site", action="append", default=[], metavar="CODE", help="only this site's sensors (repeat)"
    )
    p.add_argument("--rate", type=float, default=1.0, help="messages per gateway per second (default 1)")
    p.add_argument("--batch", type=int, default=MAX_BATCH, help=f"readings per message, at most {MAX_BATCH}")
    p.add_argument("--speedup", type=float, default=1.0, help="simulated time runs N× faster (default 1)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=SCENARIOS,
        metavar="NAME",
        help=f"{', '.join(SCENARIOS)}",
    )
    p.add_argument(
        "--scenarios", choices=("all", "none"), default="none", help="all: every scenario, repeating"
    )
    p.add_argument(
        "--scenario-start",
        type=float,
        default=30.0,
        help="simulated seconds before the first scenario (default 30)",
    )
    p.add_argument(
        "--scenario-gap",
        type=float,
        default=300.0,
        help="simulated seconds between scenario starts (default 300)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv or []))
    try:
        return _main(args)
    except SimulatorError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1


def _main(args) -> int:
    if args.rate <= 0 or args.speedup <= 0 or args.duration < 0:
        raise SimulatorError("--rate and --speedup must be positive, --duration not negative")
    if not 1 <= args.batch <= MAX_BATCH:
        raise SimulatorError(f"--batch must be 1..{MAX_BATCH}")
    token = args.token or os.environ.get("HEADFRAME_TOKEN", "")
    if args.transport == "http" and not token:
        raise SimulatorError(
            "--transport http needs --token (or HEADFRAME_TOKEN) of a user with the gateway role"
        )
    sensors = sensors_from_db(args.site)
    if not sensors:
        where = f" at {', '.join(args.site)}" if args.site else ""
        raise SimulatorError(
            f"no in-service sensors{where}: load the demo (headframe demo) or register sensors"
        )
    names = list(SCENARIOS) if args.scenarios == "all" else list(dict.fromkeys(args.scenario))
    world = World(
        sensors,
        seed=args.seed,
        start_ms=int(time.time() * 1000),
        speedup=args.speedup,
        scenarios=names,
        repeat=args.scenarios == "all",
        scenario_start=args.scenario_start,
        scenario_gap=args.scenario_gap,
    )
    gateways = sorted({s.gateway for s in sensors})
    per_s = sum(1.0 / s.period_s for s in sensors) * args.speedup
    print(
        f"simulate: {len(sensors)} sensors on {len(gateways)} gateway(s), ~{per_s:,.0f} readings/s, "
        f"over {args.transport}" + (f", scenarios: {', '.join(names)}" if names else ""),
        flush=True,
    )
    if args.transport == "mqtt":
        transport: Transport = MqttTransport(args.host, args.port, args.client_id)
    elif args.transport == "http":
        transport = HttpTransport(args.url, token)
    else:
        transport = PrintTransport()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (headframe demo stopping us) and Ctrl-C: finish the tick, send what is pending, wait for acks
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    try:
        run(world, transport, duration=args.duration, rate=args.rate, batch=args.batch, stop=stop)
    except KeyboardInterrupt:
        pass
    finally:
        left = transport.close()
    print(
        f"simulate: sent {transport.sent_readings:,} readings in {transport.sent_messages:,} messages"
        + (f", {left} undelivered" if left else ""),
        flush=True,
    )
    return 1 if left else 0
