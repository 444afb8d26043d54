"""The simulator end to end: its readings go through the real ingest (service, HTTP API, MQTT broker) and its
scenarios raise the alarms they are written to raise."""

from __future__ import annotations

import io
import time
import uuid

import orjson
import paho.mqtt.client as mqtt

from headframe.telemetry import services
from headframe.telemetry.demo import load_telemetry_demo, simulator_token
from headframe.telemetry.models import AlarmCondition, Reading, Sensor
from headframe.telemetry.simulator import (
    HttpTransport,
    MqttTransport,
    World,
    messages_of,
    run,
    sensors_from_db,
)
from tests.demo_snapshot import demo_database
from tests.telemetry.conftest import NOW_MS
from tests.telemetry.test_mqtt import wait_for


def _ingest(world: World, until: float, step: float = 1.0) -> None:
    """Feed the world's readings to services.ingest every `step` simulated seconds, as the ingest process would."""
    t = world.t
    while t < until:
        t += step
        batches = [
            services.Batch(gateway, readings_list_to_tuples(readings))
            for _site, gateway, readings in messages_of(world.advance(t))
        ]
        if batches:
            services.ingest(batches, now_ms=world.ts_of(t) + 500)


def readings_list_to_tuples(readings: list[dict]) -> list[tuple]:
    return [(r["sensor"], r["ts"], r["value"]) for r in readings]


def _active(sensor_code: str) -> set[str]:
    return set(
        AlarmCondition.objects.filter(sensor__code=sensor_code, active=True).values_list(
            "limit_code", flat=True
        )
    )


def test_methane_buildup_through_ingest_raises_the_face_alarm_and_the_trip(tree):
    load_telemetry_demo()
    world = World(
        sensors_from_db(["A-M1"]), seed=1, start_ms=NOW_MS, scenarios=["methane_buildup"], scenario_start=10
    )
    _ingest(world, 50)
    face_ch4 = f"{world.runs[0].target}-CH4"
    assert "ch4_face_return_trip" not in _active(face_ch4)
    _ingest(world, 100)
    assert {"ch4_face_return_warn", "ch4_face_return_trip", "stale"} & _active(face_ch4) == {
        "ch4_face_return_warn",
        "ch4_face_return_trip",
    }
    assert "vel_face_min" in _active(f"{world.runs[0].target}-VG")


def test_a_quiet_hour_raises_no_alarm(tree):
    load_telemetry_demo()
    world = World(sensors_from_db(), seed=3, start_ms=NOW_MS)
    _ingest(world, 3600, step=30)
    assert not AlarmCondition.objects.filter(active=True).exists()
    assert Reading.objects.count() > 1000


def test_a_frozen_then_silent_sensor_raises_the_stale_alarm(tree):
    load_telemetry_demo()
    world = World(sensors_from_db(), seed=6, start_ms=NOW_MS, scenarios=["frozen_sensor"], scenario_start=10)
    _ingest(world, 10 + 300 + 60, step=5)
    code = world.runs[0].target
    services.stale_scan(now_ms=world.ts_of(10 + 300 + 60))
    assert _active(code) == {"stale"}
    assert AlarmCondition.objects.filter(active=True).count() == 1


def test_the_simulator_over_http_stores_what_it_sends(db, client):
    demo_database()
    token = simulator_token()

    def post(url, body, headers):
        path = url.split("://", 1)[1].split("/", 1)[1]
        response = client.post(
            "/" + path, body, content_type="application/json", HTTP_AUTHORIZATION=headers["Authorization"]
        )
        return response.status_code, response.content

    out = io.StringIO()
    transport = HttpTransport("http://testserver", token, post=post, out=out)
    world = World(sensors_from_db(["NDA-M1", "VSO-M1"]), seed=2, start_ms=int(time.time() * 1000) - 120_000)
    now = [0.0]
    stats = run(
        world,
        transport,
        duration=60,
        rate=1,
        clock=lambda: now[0],
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        out=out,
    )
    assert stats.readings > 600 and transport.buffered == 0
    assert transport.stored == stats.readings == Reading.objects.count()
    assert not transport.quarantined, out.getvalue()
    assert set(
        Sensor.objects.filter(state__last_ts__isnull=False).values_list("gateway__code", flat=True)
    ) == {
        "GW-NDA-M1",
        "GW-VSO-M1",
    }


def _subscriber(port: int, site: str, received: list) -> mqtt.Client:
    """QoS 1 with a persistent session: it keeps its subscription and queued messages over a broker restart."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"test-sub-{site}",
        clean_session=False,
        protocol=mqtt.MQTTv311,
    )
    client.reconnect_delay_set(min_delay=1, max_delay=1)
    subscribed = []
    client.on_message = lambda c, u, msg: received.append(msg)
    client.on_subscribe = lambda *a: subscribed.append(True)
    client.connect("127.0.0.1", port)
    client.subscribe(f"headframe/v1/{site}/#", qos=1)
    client.loop_start()
    assert wait_for(lambda: subscribed, timeout=5)
    return client


def _send(transport: MqttTransport, site: str, seqs) -> None:
    for seq in seqs:
        transport.send(site, f"GW-{site}", seq, [{"sensor": f"{site}-CH4", "ts": seq, "value": 0.25}])


def test_mqtt_messages_reach_the_broker_on_the_documented_topic_with_qos_1(broker):
    site = f"T{uuid.uuid4().hex[:6].upper()}"
    received: list = []
    sub = _subscriber(broker.port, site, received)
    try:
        transport = MqttTransport("127.0.0.1", broker.port, client_id=f"test-pub-{site}", out=io.StringIO())
        assert wait_for(transport.connected.is_set, timeout=5)
        _send(transport, site, (1, 2, 3))
        assert transport.close(timeout=5) == 0
        assert wait_for(lambda: len(received) >= 3, timeout=5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert [m.topic for m in received] == [f"headframe/v1/{site}/GW-{site}/readings"] * 3
    assert all(m.qos == 1 for m in received)
    assert [orjson.loads(m.payload)["seq"] for m in received] == [1, 2, 3]


def test_mqtt_messages_sent_while_the_broker_is_down_are_buffered_and_resent(broker):
    site = f"T{uuid.uuid4().hex[:6].upper()}"
    received: list = []
    sub = _subscriber(broker.port, site, received)
    out = io.StringIO()
    transport = MqttTransport("127.0.0.1", broker.port, client_id=f"test-pub-{site}", out=out)
    try:
        assert wait_for(transport.connected.is_set, timeout=5)
        _send(transport, site, (1, 2))
        assert wait_for(lambda: transport.unacked == 0, timeout=5)
        broker.stop()
        assert wait_for(lambda: not transport.connected.is_set(), timeout=5)
        _send(transport, site, (3, 4, 5))
        assert transport.buffered == 3
        broker.start()
        assert wait_for(lambda: transport.buffered == 0, timeout=20), out.getvalue()
        assert wait_for(lambda: len({orjson.loads(m.payload)["seq"] for m in received}) == 5, timeout=10)
    finally:
        transport.close(timeout=5)
        sub.loop_stop()
        sub.disconnect()
    assert sorted({orjson.loads(m.payload)["seq"] for m in received}) == [1, 2, 3, 4, 5]
    assert "buffering" in out.getvalue() and "broker back" in out.getvalue()


def test_the_demo_gateway_outage_is_one_annunciated_alarm_not_a_flood(tree):
    """The simulator's gateway_outage through ingest and the watchdog (every 5 s, as `headframe ingest` runs
    it): one urgent gateway alarm, the sensors' stale alarms suppressed by that rule, the ISA-18.2 flood KPI
    (alarms per 10 minutes) far under 10, and nothing left annunciated once the gateway is back."""
    import datetime as dt

    from headframe.telemetry import selectors
    from headframe.telemetry.models import Alarm

    load_telemetry_demo()
    world = World(sensors_from_db(), seed=4, start_ms=NOW_MS, scenarios=["gateway_outage"], scenario_start=60)
    t = world.t
    while t < 60 + 300 + 120:
        t += 5
        batches = [
            services.Batch(gw, readings_list_to_tuples(readings))
            for _site, gw, readings in messages_of(world.advance(t))
        ]
        if batches:
            services.ingest(batches, now_ms=world.ts_of(t) + 500)
        if (
            t > 40
        ):  # every sensor has reported once (the registry was made on the real clock, not the world's)
            services.gateways_scan(now_ms=world.ts_of(t) + 1000)
            services.stale_scan(now_ms=world.ts_of(t) + 1000)
    gateway = world.runs[0].target
    raised = list(Alarm.objects.values_list("limit_code", "gateway__code"))
    assert raised == [("gateway_lost", gateway)]
    start = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC)
    kpi = selectors.alarm_kpis(site_path="", start=start, end=start + dt.timedelta(hours=1))
    silent = sum(1 for s in world.sensors if s.gateway == gateway)
    assert kpi.peak_10_min == 1 < 10 and kpi.suppressed_by_design == silent
    assert not AlarmCondition.objects.filter(limit_code="stale", active=True).exists()


def test_the_demo_methane_buildup_reannunciates_its_acknowledged_latched_trip(tree):
    from headframe.telemetry.models import Alarm, AlarmJournal
    from tests.factories import make_user

    load_telemetry_demo()
    world = World(
        sensors_from_db(["A-M1"]), seed=1, start_ms=NOW_MS, scenarios=["methane_buildup"], scenario_start=10
    )
    _ingest(world, 200)
    face_ch4 = f"{world.runs[0].target}-CH4"
    trip = AlarmCondition.objects.get(sensor__code=face_ch4, limit_code="ch4_face_return_trip")
    services.alarm_acknowledge(actor=make_user("disp", ("dispatcher", "A-M1")), condition_id=trip.id)
    _ingest(world, 330)  # methane cleared: latched, acknowledged
    trip.refresh_from_db()
    assert trip.latched and trip.acked
    _ingest(world, 400)  # the second outburst (and it clears again: latched, to be acknowledged and reset)
    trip.refresh_from_db()
    assert trip.active and not trip.acked
    assert Alarm.objects.filter(condition=trip).count() == 2
    events = list(AlarmJournal.objects.filter(condition=trip).values_list("event", flat=True))
    assert events.count("raised") == 2
