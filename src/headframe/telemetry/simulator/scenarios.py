"""Scenarios: scripted incidents as curves (keyframes), frozen and silent sensors, and announced steps."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from headframe.telemetry.simulator._common import SimSensor

if TYPE_CHECKING:
    from headframe.telemetry.simulator.model import World


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


Builder = Callable[["World", random.Random, float, set], "ScenarioRun | None"]

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
