"""The physical model: per-sensor profiles, mean-reverting processes, pump stations, and the `World` that samples
every sensor on its own period in simulated time and applies the running scenarios."""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from headframe.telemetry.simulator._common import SCENARIOS, SimSensor, SimulatorError
from headframe.telemetry.simulator.scenarios import BUILDERS, ScenarioRun, StepEvent, _within


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
