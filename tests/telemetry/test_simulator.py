"""The simulator's world: deterministic for a seed, quiet mines stay inside every limit, scenarios cross them on
schedule; the HTTP transport buffers and resends instead of dropping."""

from __future__ import annotations

import io
import itertools
from collections import defaultdict

import orjson
import pytest

from headframe.telemetry import simulator as sim
from headframe.telemetry.demo import GENERAL_RETURN, SENSORS_BY_POSITION_KIND
from headframe.telemetry.simulator import HttpTransport, SimSensor, World, messages_of

START_MS = 1_800_000_000_000


def fake_site(site: str = "S1", *, faces=4, headings=3, pumps=2, fans=1, conveyors=2, gateway=None):
    """The demo registry's sensors for one site, without a database."""
    gateway = gateway or f"GW-{site}"
    layout = [("longwall_face", "LC", faces), ("development_heading", "DL", headings)]
    layout += [("pump_station", "TB", pumps), ("main_fan", "QG", fans), ("conveyor", "BT", conveyors)]
    sensors = []
    for kind, short, n in layout:
        for i in range(1, n + 1):
            position = f"{site}-{short}{i:02d}"
            specs = list(SENSORS_BY_POSITION_KIND[kind])
            if kind == "longwall_face" and i == 1:
                specs.append(GENERAL_RETURN)
            for spec in specs:
                sensors.append(
                    SimSensor(
                        code=f"{position}-{spec.suffix}",
                        kind=str(spec.kind),
                        location=str(spec.location),
                        position=position,
                        position_kind=kind,
                        gateway=gateway,
                        site=site,
                        period_s=spec.period_s,
                    )
                )
    return sensors


def series(readings):
    out = defaultdict(list)
    for sensor, ts, value in readings:
        out[sensor.code].append((ts, value))
    return out


def seconds(ts: int) -> float:
    return (ts - START_MS) / 1000


def test_same_seed_same_readings_other_seed_other_readings():
    def first_hour(seed):
        return [
            (s.code, ts, v) for s, ts, v in World(fake_site(), seed=seed, start_ms=START_MS).advance(3600)
        ]

    assert first_hour(7) == first_hour(7)
    assert first_hour(7) != first_hour(8)


def test_a_sensors_values_do_not_depend_on_which_other_sensors_are_simulated():
    both = World(fake_site("S1") + fake_site("S2"), seed=3, start_ms=START_MS).advance(600)
    alone = World(fake_site("S1"), seed=3, start_ms=START_MS).advance(600)
    assert [r for r in series(both).items() if r[0].startswith("S1")] == list(series(alone).items())


def test_a_quiet_mine_stays_in_physical_ranges_and_inside_every_default_limit():
    readings = World(fake_site(), seed=11, start_ms=START_MS).advance(6 * 3600)
    by_kind = defaultdict(list)
    for sensor, _ts, value in readings:
        by_kind[(sensor.kind, sensor.location)].append(value)
    ch4 = by_kind[("ch4_pct", "face_return")] + by_kind[("ch4_pct", "development_heading")]
    assert min(ch4) > 0.0 and max(ch4) < 0.8
    assert max(by_kind[("ch4_pct", "general_return")]) < 0.75
    co = [v for (kind, _), vs in by_kind.items() if kind == "co_ppm" for v in vs]
    assert min(co) >= 0.0 and max(co) < 17
    o2 = [v for (kind, _), vs in by_kind.items() if kind == "o2_pct" for v in vs]
    assert min(o2) > 20.0 and max(o2) <= 21.0
    face_air = (
        by_kind[("air_velocity_ms", "face_return")] + by_kind[("air_velocity_ms", "development_heading")]
    )
    assert min(face_air) > 0.25 and max(face_air) < 4.0
    temperature = [v for (kind, _), vs in by_kind.items() if kind == "temperature_c" for v in vs]
    assert min(temperature) >= 24 and max(temperature) < 30
    assert set(by_kind[("fan_running", "fan_house")]) == {1.0}
    levels = by_kind[("water_level_m", "sump")]
    assert min(levels) > 0.7 and max(levels) < 2.3
    assert set(by_kind[("pump_running", "sump")]) == {0.0, 1.0}  # pumps cycle


def test_sensors_report_on_their_period_with_strictly_increasing_times():
    sensors = fake_site()
    readings = series(World(sensors, seed=5, start_ms=START_MS).advance(600))
    assert set(readings) == {s.code for s in sensors}
    for sensor in sensors:
        times = [ts for ts, _ in readings[sensor.code]]
        assert {b - a for a, b in itertools.pairwise(times)} == {1000 * sensor.period_s}, sensor.code


def test_speedup_compresses_wall_clock_timestamps():
    world = World(fake_site(), seed=5, start_ms=START_MS, speedup=10)
    readings = world.advance(600)  # ten simulated minutes
    assert max(ts for _s, ts, _v in readings) <= START_MS + 60_000  # ... stamped within one real minute


def test_methane_buildup_crosses_one_percent_at_the_face_within_its_scripted_time():
    world = World(fake_site(), seed=1, start_ms=START_MS, scenarios=["methane_buildup"], scenario_start=30)
    readings = series(world.advance(400))
    run = world.runs[0]
    ch4 = readings[f"{run.target}-CH4"]
    started = START_MS + 30_000
    over_08 = [ts for ts, v in ch4 if v >= 0.8]
    over_10 = [ts for ts, v in ch4 if v >= 1.0]
    assert started + 20_000 <= over_08[0] <= started + 40_000
    assert started + 45_000 <= over_10[0] <= started + 70_000
    # it stays over the trip level long enough for any on-delay, then returns to baseline
    assert all(v >= 1.0 for ts, v in ch4 if started + 70_000 <= ts <= started + 180_000)
    assert ch4[-1][1] < 0.6
    fan = readings["S1-QG01-QG"]
    assert {v for ts, v in fan if started <= ts < started + 180_000} == {0.0}
    assert fan[-1][1] == 1.0
    air = [v for ts, v in readings[f"{run.target}-VG"] if started + 40_000 <= ts <= started + 170_000]
    assert max(air) < 0.25
    texts = [e.text for e in world.take_events()]
    assert len(texts) == 5 and "stops" in texts[0] and "1.0 %" in texts[2]


def test_co_heating_passes_17_ppm_after_tens_of_minutes():
    world = World(fake_site(), seed=2, start_ms=START_MS, scenarios=["co_heating"], scenario_start=0)
    readings = series(world.advance(3600))
    co = readings[f"{world.runs[0].target}-CO"]
    first = next(ts for ts, v in co if v >= 17)
    assert 15 * 60 <= seconds(first) <= 21 * 60
    assert co[-1][1] < 8


def test_pump_failure_stops_the_pump_and_the_sump_rises():
    world = World(fake_site(), seed=4, start_ms=START_MS, scenarios=["pump_failure"], scenario_start=0)
    readings = series(world.advance(1800))
    station = world.runs[0].target
    assert {v for ts, v in readings[f"{station}-BOM"] if seconds(ts) >= 2} == {0.0}
    levels = readings[f"{station}-MN"]
    assert levels[-1][1] > levels[0][1] + 1.0


def test_frozen_sensor_repeats_its_value_then_goes_silent_then_comes_back():
    world = World(fake_site(), seed=6, start_ms=START_MS, scenarios=["frozen_sensor"], scenario_start=60)
    readings = series(world.advance(20 * 60))
    code = world.runs[0].target
    frozen = [v for ts, v in readings[code] if 60 <= seconds(ts) < 60 + 300]
    assert len(frozen) >= 25 and len(set(frozen)) == 1
    assert not [ts for ts, _ in readings[code] if 60 + 300 <= seconds(ts) < 60 + 900]
    assert [ts for ts, _ in readings[code] if seconds(ts) >= 60 + 900]


def test_gateway_outage_silences_every_sensor_of_that_gateway_only():
    sensors = fake_site("S1") + fake_site("S2")
    world = World(sensors, seed=8, start_ms=START_MS, scenarios=["gateway_outage"], scenario_start=60)
    readings = world.advance(600)
    gateway = world.runs[0].target
    during = {s.gateway for s, ts, _ in readings if 61 <= seconds(ts) < 359}
    assert gateway not in during and len(during) == 1
    assert gateway in {s.gateway for s, ts, _ in readings if seconds(ts) >= 360}


def test_alarm_flood_puts_more_than_ten_sensors_of_one_site_beyond_limits_within_ten_minutes():
    world = World(fake_site(), seed=9, start_ms=START_MS, scenarios=["alarm_flood"], scenario_start=0)
    readings = world.advance(600)
    beyond = set()
    for sensor, _ts, value in readings:
        if (
            (sensor.kind == "co_ppm" and value >= 17)
            or (sensor.kind == "o2_pct" and value <= 20.0)
            or (sensor.kind == "air_velocity_ms" and sensor.location != "fan_house" and value <= 0.25)
        ):
            beyond.add(sensor.code)
    assert len(beyond) > 10


def test_all_scenarios_repeat_on_a_schedule_and_skip_what_has_no_sensors():
    world = World(
        fake_site(pumps=0), seed=1, start_ms=START_MS, scenarios=sim.SCENARIOS, repeat=True, scenario_gap=60
    )
    world.advance(30 + 60 * 12)
    started = [r.name for r in world.runs]
    assert started[:5] == [n for n in sim.SCENARIOS if n != "pump_failure"]
    assert len(started) >= 6  # the second cycle began (what finds its sensors still busy is skipped)
    skipped = [e for e in world.take_events() if "skipped" in e.text and e.t < 30 + 60 * 6]
    assert [e.scenario for e in skipped] == ["pump_failure"]


def test_messages_are_per_gateway_and_at_most_the_batch_size():
    readings = World(fake_site("S1") + fake_site("S2"), seed=1, start_ms=START_MS).advance(120)
    messages = messages_of(readings, batch=50)
    assert all(len(batch) <= 50 for _site, _gw, batch in messages)
    assert sum(len(batch) for *_, batch in messages) == len(readings)
    for site, gateway, batch in messages:
        assert gateway == f"GW-{site}" and all(r["sensor"].startswith(site) for r in batch)


def test_http_transport_buffers_while_the_server_is_down_and_resends_in_order():
    now = [0.0]
    delivered, down = [], [True]

    def post(url, body, headers):
        if down[0]:
            raise ConnectionRefusedError("refused")
        delivered.append(orjson.loads(body)["seq"])
        return 200, b'{"stored": 1, "duplicates": 0, "quarantined": {}}'

    out = io.StringIO()
    transport = HttpTransport("http://app", "tok", post=post, out=out, clock=lambda: now[0])
    for seq in (1, 2, 3):
        transport.send("S1", "GW-S1", seq, [{"sensor": "X", "ts": 1, "value": 0.1}])
    assert transport.buffered == 3 and delivered == []
    down[0] = False
    now[0] = 100.0
    transport.pump()
    assert delivered == [1, 2, 3] and transport.buffered == 0
    assert "buffering" in out.getvalue() and "server back" in out.getvalue()


def test_http_transport_stops_with_one_line_when_the_token_is_refused():
    transport = HttpTransport(
        "http://app", "bad", post=lambda *a: (401, b'{"detail": [{"msg": "bad token"}]}'), out=io.StringIO()
    )
    with pytest.raises(sim.SimulatorError, match="401 bad token"):
        transport.send("S1", "GW-S1", 1, [])


def test_run_sends_each_gateway_at_most_rate_times_a_second_and_flushes_at_the_end():
    sent = []

    class Collect(sim.Transport):
        def send(self, site, gateway, seq, readings):
            sent.append((gateway, seq, len(readings)))

    now = [0.0]
    world = World(fake_site("S1") + fake_site("S2"), seed=1, start_ms=START_MS)
    stats = sim.run(
        world,
        Collect(out=io.StringIO()),
        duration=10,
        rate=0.5,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        out=io.StringIO(),
    )
    per_gateway = defaultdict(list)
    for gateway, seq, _n in sent:
        per_gateway[gateway].append(seq)
    assert set(per_gateway) == {"GW-S1", "GW-S2"}
    assert all(seqs == list(range(1, len(seqs) + 1)) and len(seqs) <= 6 for seqs in per_gateway.values())
    assert (
        stats.readings
        == sum(n for *_, n in sent)
        == len(World(fake_site("S1") + fake_site("S2"), seed=1, start_ms=START_MS).advance(10))
    )
