"""`headframe ingest` against a real Mosquitto: JSON and Sparkplug B messages published by a plain MQTT client
are stored, bad messages are quarantined and acknowledged without stopping the worker, and nothing is
acknowledged before its transaction committed.

Each test module starts its own broker on a free port (isolated from any other test run or ingest process on
the machine's broker); the worker's queue is processed in the test's thread (`worker.pump`), so these tests
run inside the usual rolled-back test transaction.
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from django.db import OperationalError, ProgrammingError
from paho.mqtt.enums import CallbackAPIVersion

from headframe.telemetry import mqtt as ingest_mqtt
from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import (
    STALE_LIMIT,
    Alarm,
    AlarmCondition,
    Gateway,
    Quarantine,
    Reading,
    Sensor,
    SensorState,
)
from headframe.telemetry.sparkplug import REBIRTH_METRIC, DataType, M, decode_payload, encode_payload

TOPIC = "headframe/v1/A-M1/GW-A1/readings"


# ---------------------------------------------------------------------- a private broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mosquitto:
    """A Mosquitto of our own: free port, persistence in a temporary folder, long queues (not 0 = unlimited:
    several 2.0.x releases mishandle 0)."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("mosquitto") is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        self.folder = folder
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        # Mosquitto started as root drops to the user `mosquitto` and exits silently if that user cannot
        # write the persistence folder: stay the user that owns the folder.
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nmax_queued_messages 1000000\nuser {getpass.getuser()}\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["mosquitto", "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: Mosquitto saves its sessions and queued messages to the persistence file, then exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=10)
        self.process = None


def connect_client(port: int, client_id: str | None = None) -> mqtt.Client:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id or f"test-pub-{uuid.uuid4().hex[:8]}"
    )
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def publish(client: mqtt.Client, topic: str, payload: bytes | str, timeout: float = 10.0) -> None:
    """QoS 1, and wait until the broker acknowledged it."""
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(timeout)
    assert info.is_published(), f"the broker did not acknowledge {topic}"


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    instance = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield instance
    instance.stop()


@pytest.fixture
def publisher(broker):
    client = connect_client(broker.port)
    yield client
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def worker(broker):
    """An ingest worker connected and subscribed; its queue is processed by the test with worker.pump()."""
    tag = uuid.uuid4().hex[:8]
    options = ingest_mqtt.Options(
        port=broker.port,
        client_id=f"test-ingest-{tag}",
        share_group=f"test-{tag}",
        max_wait_ms=20,
        max_bytes=4096,
        session_expiry_s=10,
        retry_first_s=0.01,
    )
    w = ingest_mqtt.IngestWorker(options)
    acked: list[int] = []
    ack = w.client.ack

    def recording_ack(mid, qos):
        acked.append(mid)
        return ack(mid, qos)

    w.client.ack = recording_ack
    w.acked = acked
    w.start_network()
    assert w.subscribed.wait(10), "the worker did not subscribe"
    yield w
    w.stopping.set()
    w.close_network()


def _json(readings, gateway="GW-A1", seq=None) -> bytes:
    body = {"gateway": gateway, "readings": [{"sensor": s, "ts": ts, "value": v} for s, ts, v in readings]}
    if seq is not None:
        body["seq"] = seq
    return orjson.dumps(body)


# ---------------------------------------------------------------------- headframe JSON


def test_json_message_is_stored_then_acknowledged(mine, worker, publisher):
    t = now_ms()
    iso = dt.datetime.fromtimestamp((t - 1000) / 1000, tz=dt.UTC).isoformat()
    publish(publisher, TOPIC, _json([("A1-CH4-01", t - 2000, 0.41), ("A1-CH4-01", iso, 0.42)], seq=42))
    assert worker.pump(lambda: Reading.objects.filter(sensor=mine.ch4).count() == 2)
    state = SensorState.objects.get(sensor=mine.ch4)
    assert (state.last_ts, state.last_value) == (t - 1000, 0.42)
    assert Gateway.objects.get(code="GW-A1").last_seq == 42
    assert len(worker.acked) == 1
    assert worker.stats.total["stored"] == 2


def test_malformed_messages_are_quarantined_and_acknowledged_and_the_worker_goes_on(mine, worker, publisher):
    bad = [
        b"not json {",
        b"[1, 2, 3]",
        b'{"gateway": "GW-A1", "readings": "many"}',
        b'{"gateway": "GW-A1", "seq": "7", "readings": []}',
        b'{"gateway": "GW-A1", "readings": [' + b'{"sensor": "A1-CH4-01"},' * 300 + b"{}]}",  # > 4096 bytes
        b"\xff\xfe\x00",
    ]
    for payload in bad:
        publish(publisher, TOPIC, payload)
    t = now_ms()
    publish(publisher, TOPIC, _json([("A1-CO-01", t - 1000, 5.0)]))
    assert worker.pump(lambda: Reading.objects.filter(sensor=mine.co).exists())
    rows = list(Quarantine.objects.filter(gateway_code="GW-A1").order_by("id"))
    assert [row.reason for row in rows] == ["malformed"] * len(bad)
    details = " ".join(row.detail for row in rows)
    for fragment in ("not JSON", "expected a JSON object", "'readings' must be a list", "'seq' must be"):
        assert fragment in details
    assert "exceeds 4096 bytes" in details
    assert len(worker.acked) == len(bad) + 1
    assert worker.stats.total["malformed"] == len(bad)


def test_gateway_in_the_message_must_match_the_topic(mine, worker, publisher):
    t = now_ms()
    publish(publisher, TOPIC, _json([("A1-CH4-01", t - 1000, 0.4)], gateway="GW-B1"))
    publish(publisher, "headframe/v1/B-M1/GW-A1/readings", _json([("A1-CH4-01", t - 1000, 0.4)]))
    assert worker.pump(lambda: Quarantine.objects.count() == 2)
    details = list(Quarantine.objects.order_by("id").values_list("detail", flat=True))
    assert "'GW-B1' in the message does not match the topic's gateway 'GW-A1'" in details[0]
    assert "belongs to site A-M1, not to the topic's site B-M1" in details[1]
    assert not Reading.objects.exists()
    assert len(worker.acked) == 2


def test_database_outage_is_retried_and_nothing_is_acknowledged_before_the_commit(
    mine, worker, publisher, monkeypatch
):
    events: list[str] = []
    real_ingest = services.ingest

    def flaky_ingest(batches, **kwargs):
        if events.count("down") < 2:
            events.append("down")
            raise OperationalError("server closed the connection unexpectedly")
        events.append("stored")
        return real_ingest(batches, **kwargs)

    monkeypatch.setattr(services, "ingest", flaky_ingest)
    ack = worker.client.ack

    def ack_after(mid, qos):
        events.append("ack")
        return ack(mid, qos)

    monkeypatch.setattr(worker.client, "ack", ack_after)
    publish(publisher, TOPIC, _json([("A1-O2-01", now_ms() - 1000, 20.9)]))
    assert worker.pump(lambda: "ack" in events)
    assert events == ["down", "down", "stored", "ack"]
    assert Reading.objects.filter(sensor=mine.o2).count() == 1
    assert worker.stats.total["db_retries"] == 2


def test_a_message_that_breaks_ingest_is_quarantined_alone_and_the_others_are_stored(
    mine, worker, publisher, monkeypatch
):
    real_ingest = services.ingest

    def ingest_with_a_bug(batches, **kwargs):
        if any(code == "A1-PUMP-01" for batch in batches for code, _, _ in batch.readings):
            raise RuntimeError("a bug triggered by this message")
        return real_ingest(batches, **kwargs)

    monkeypatch.setattr(services, "ingest", ingest_with_a_bug)
    t = now_ms()
    publish(publisher, TOPIC, _json([("A1-PUMP-01", t - 2000, 1.0)]))
    publish(publisher, TOPIC, _json([("A1-CH4-01", t - 1000, 0.5)]))
    assert worker.pump(lambda: len(worker.acked) == 2)
    assert list(Reading.objects.values_list("sensor__code", flat=True)) == ["A1-CH4-01"]
    row = Quarantine.objects.get()
    assert "ingest failed: RuntimeError('a bug triggered by this message')" in row.detail
    assert '"A1-PUMP-01"' in row.detail  # the message as received


def test_a_database_error_that_is_not_an_outage_is_retried_before_anything_is_acknowledged(
    mine, worker, publisher, monkeypatch
):
    """An IntegrityError or a schema not migrated yet is not the message's fault: the message stays
    unacknowledged and is retried, and its readings are stored once the database accepts them."""
    events: list[str] = []
    real_ingest = services.ingest

    def ingest_during_a_deploy(batches, **kwargs):
        if events.count("refused") < 2:
            events.append("refused")
            raise ProgrammingError('column "max_ts" does not exist')
        events.append("stored")
        return real_ingest(batches, **kwargs)

    monkeypatch.setattr(services, "ingest", ingest_during_a_deploy)
    monkeypatch.setattr(worker.options, "retry_first_s", 0.01)
    ack = worker.client.ack
    monkeypatch.setattr(worker.client, "ack", lambda mid, qos: (events.append("ack"), ack(mid, qos))[1])
    publish(publisher, TOPIC, _json([("A1-O2-01", now_ms() - 1000, 20.9)]))
    assert worker.pump(lambda: "ack" in events)
    assert events == ["refused", "refused", "stored", "ack"]
    assert Reading.objects.filter(sensor=mine.o2).count() == 1
    assert not Quarantine.objects.exists()


def test_command_line_refuses_bad_options_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        ingest_mqtt.main(["--max-batch", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("headframe ingest: error: argument --max-batch") and "\n" not in err


# ---------------------------------------------------------------------- Sparkplug B

GROUP, NODE, DEVICE = "Mine-A", "EDGE-A1", "Face-Box"


@pytest.fixture
def edge(mine):
    """GW-A1 is the Sparkplug edge node Mine-A/EDGE-A1; CH4 is a node metric, CO a metric of device Face-Box."""
    Gateway.objects.filter(pk=mine.gateway.pk).update(sparkplug_group=GROUP, sparkplug_node=NODE)
    Sensor.objects.filter(pk=mine.ch4.pk).update(sparkplug_metric="CH4/Face")
    Sensor.objects.filter(pk=mine.co.pk).update(sparkplug_metric=f"{DEVICE}/CO")
    directory.invalidate()
    return mine


def spb(kind: str, device: str = "") -> str:
    return f"spBv1.0/{GROUP}/{kind}/{NODE}" + (f"/{device}" if device else "")


def _values(sensor):
    return list(Reading.objects.filter(sensor=sensor).order_by("ts").values_list("ts", "value"))


def test_sparkplug_births_and_data_with_aliases_are_stored(edge, worker, publisher):
    t = now_ms()
    publish(
        publisher,
        spb("NBIRTH"),
        encode_payload(
            [M("bdSeq", 0, DataType.INT64), M("CH4/Face", 0.3, DataType.DOUBLE, alias=1, timestamp=t - 4000)],
            timestamp=t - 4000,
            seq=0,
        ),
    )
    publish(
        publisher,
        spb("NDATA"),
        encode_payload([M(None, 0.35, alias=1)], timestamp=t - 3000, seq=1, with_datatypes=False),
    )
    publish(
        publisher,
        spb("DBIRTH", DEVICE),
        encode_payload([M("CO", 4, DataType.INT32, alias=2)], timestamp=t - 2000, seq=2),
    )
    publish(
        publisher,
        spb("DDATA", DEVICE),
        encode_payload([M(None, 7, alias=2)], timestamp=t - 1000, seq=3, with_datatypes=False),
    )
    assert worker.pump(lambda: Reading.objects.count() == 4)
    assert _values(edge.ch4) == [(t - 4000, 0.3), (t - 3000, 0.35)]
    assert _values(edge.co) == [(t - 2000, 4.0), (t - 1000, 7.0)]
    assert SensorState.objects.get(sensor=edge.ch4).last_value == 0.35
    assert Gateway.objects.get(pk=edge.gateway.pk).last_seq == 3
    assert not Quarantine.objects.exists()
    assert len(worker.acked) == 4


def test_sparkplug_historical_metric_is_stored_but_does_not_move_live_state(edge, worker, publisher):
    t = now_ms()
    publish(
        publisher, spb("NBIRTH"), encode_payload([M("CH4/Face", 0.3, alias=1)], timestamp=t - 5000, seq=0)
    )
    publish(
        publisher,
        spb("NDATA"),
        encode_payload(
            [
                M("CH4/Face", 0.4, timestamp=t - 2000),
                M("CH4/Face", 0.9, timestamp=t - 1000, is_historical=True),  # newer, but store-and-forward
            ],
            seq=1,
        ),
    )
    assert worker.pump(lambda: Reading.objects.filter(sensor=edge.ch4).count() == 3)
    state = SensorState.objects.get(sensor=edge.ch4)
    assert (state.last_ts, state.last_value) == (t - 2000, 0.4)
    assert (t - 1000, 0.9) in _values(edge.ch4)


def test_sparkplug_node_death_is_one_gateway_alarm_and_suppresses_its_sensors_stale_alarms(
    edge, worker, publisher
):
    t = now_ms()
    publish(
        publisher,
        spb("NBIRTH"),
        encode_payload([M("bdSeq", 5, DataType.INT64), M("CH4/Face", 0.3)], timestamp=t - 1000, seq=0),
    )
    publish(publisher, spb("NDEATH"), encode_payload([M("bdSeq", 5, DataType.INT64)]))
    suppressed = AlarmCondition.objects.filter(
        limit_code=STALE_LIMIT, sensor__gateway=edge.gateway, active=True, suppressed=True
    )
    # CH4 reported: its stale alarm is suppressed by the rule. The three that never reported have no stale
    # alarm of their own to suppress (telemetry.services.stale_scan): the lost gateway speaks for them.
    assert worker.pump(lambda: suppressed.count() == 1)
    assert not Gateway.objects.get(pk=edge.gateway.pk).online
    assert list(Alarm.objects.values_list("limit_code", "gateway__code", "priority")) == [
        ("gateway_lost", edge.gateway.code, "urgent")
    ]
    assert set(suppressed.values_list("suppressed_by", flat=True)) == {f"gateway_lost:{edge.gateway.code}"}


def test_sparkplug_device_death_raises_only_that_devices_stale_alarms(edge, worker, publisher):
    t = now_ms()
    publish(publisher, spb("NBIRTH"), encode_payload([M("CH4/Face", 0.3)], timestamp=t - 2000, seq=0))
    publish(publisher, spb("DBIRTH", DEVICE), encode_payload([M("CO", 4.0)], timestamp=t - 2000, seq=1))
    publish(publisher, spb("DDEATH", DEVICE), encode_payload([], timestamp=t - 1000, seq=2))
    stale = Alarm.objects.filter(limit_code=STALE_LIMIT)
    assert worker.pump(lambda: stale.exists() and Reading.objects.count() == 2)
    assert list(stale.values_list("sensor__code", flat=True)) == ["A1-CO-01"]
    assert not SensorState.objects.get(sensor=edge.co).online


def test_sparkplug_data_with_unknown_aliases_is_quarantined_and_a_rebirth_is_requested(
    edge, worker, publisher, broker
):
    commands: list[bytes] = []
    listener = connect_client(broker.port)
    listener.on_message = lambda client, userdata, message: commands.append(message.payload)
    subscribed = []
    listener.on_subscribe = lambda *args: subscribed.append(True)
    listener.subscribe(f"spBv1.0/{GROUP}/NCMD/{NODE}", qos=1)
    assert wait_for(lambda: subscribed)
    try:
        publish(
            publisher,
            spb("NDATA"),
            encode_payload([M(None, 0.4, alias=9)], timestamp=now_ms(), seq=3, with_datatypes=False),
        )
        assert worker.pump(lambda: Quarantine.objects.exists())
        assert wait_for(lambda: commands)
    finally:
        listener.disconnect()
        listener.loop_stop()
    row = Quarantine.objects.get()
    assert (row.gateway_code, row.reason, row.channel) == ("GW-A1", "malformed", "sparkplug")
    assert "alias 9 used without a known NBIRTH for Mine-A/EDGE-A1" in row.detail
    metric = decode_payload(commands[0]).metrics[0]
    assert (metric.name, metric.boolean_value) == (REBIRTH_METRIC, True)
    assert len(worker.acked) == 1


def test_sparkplug_payload_that_is_not_protobuf_is_quarantined(edge, worker, publisher):
    publish(publisher, spb("NDATA"), b"\xff\xff\xff\xff garbage")
    publish(publisher, "spBv1.0/Mine-A/NDATA/EDGE-UNKNOWN", encode_payload([M("x", 1.0)], seq=0))
    assert worker.pump(lambda: Quarantine.objects.count() == 2)
    rows = list(Quarantine.objects.order_by("id").values_list("gateway_code", "detail"))
    assert rows[0][0] == "GW-A1" and "not a Sparkplug B payload" in rows[0][1]
    assert rows[1][0] == "Mine-A/EDGE-UNKNOWN" and "no gateway registered" in rows[1][1]
    assert len(worker.acked) == 2


def _body(readings) -> bytes:
    return orjson.dumps(
        {"gateway": "GW-A1", "readings": [{"sensor": s, "ts": ts, "value": v} for s, ts, v in readings]}
    )


def test_while_ingest_is_behind_a_message_that_may_raise_an_alarm_jumps_the_queue(edge, worker, publisher):
    t = now_ms()
    other = "headframe/v1/B-M1/GW-B1/readings"
    for _ in range(5):  # a backlog of another gateway's ordinary readings that nobody has stored yet
        publish(publisher, other, orjson.dumps({"gateway": "GW-B1", "readings": []}))
    assert wait_for(lambda: worker.queue.qsize() == 5)
    publish(publisher, TOPIC, _body([("A1-CH4-01", t - 100, 1.6)]))  # beyond the methane trip
    assert wait_for(lambda: worker.urgent.qsize() == 1)
    first = worker.collect(0)
    assert [orjson.loads(m.payload)["gateway"] for m in first] == ["GW-A1"]
    assert worker.process(first)
    assert Alarm.objects.filter(limit_code="ch4_face_return_trip").count() == 1
    assert worker.queue.qsize() == 5  # the other gateway's backlog is still waiting


def test_the_fast_path_takes_the_gateways_earlier_messages_along_in_order(edge, worker, publisher):
    t = now_ms()
    publish(publisher, TOPIC, _body([("A1-CO-01", t - 3000, 2.0)]))
    publish(publisher, TOPIC, _body([("A1-CH4-01", t - 2000, 0.3)]))
    assert wait_for(lambda: worker.queue.qsize() == 2)
    publish(publisher, TOPIC, _body([("A1-CH4-01", t - 1000, 1.6)]))  # methane trip: jumps, with the two
    assert wait_for(lambda: worker.urgent.qsize() == 3)
    assert worker.queue.qsize() == 0
    assert worker.process(worker.collect(0))
    trip = AlarmCondition.objects.get(sensor=edge.ch4, limit_code="ch4_face_return_trip")
    assert trip.active and not trip.acked and Reading.objects.filter(sensor=edge.ch4).count() == 2


def test_a_sparkplug_death_never_overtakes_the_data_sent_before_it(edge, worker, publisher):
    t = now_ms()
    for n in range(3):
        publish(publisher, TOPIC, _body([("A1-CO-01", t - 5000 + n, 2.0)]))
    assert wait_for(lambda: worker.queue.qsize() == 3)
    publish(publisher, spb("NDEATH"), encode_payload([M("bdSeq", 0, DataType.INT64)]))
    assert wait_for(lambda: worker.queue.qsize() == 4)
    assert worker.urgent.qsize() == 0


def test_a_message_the_fast_path_cannot_read_is_left_to_the_worker_and_intake_goes_on(
    edge, worker, publisher
):
    worker.options.fast_path_backlog = 1
    t = now_ms()
    publish(publisher, TOPIC, _body([("A1-CO-01", t - 3000, 2.0)]))
    assert wait_for(lambda: worker.queue.qsize() == 1)
    strange = orjson.dumps({"gateway": "GW-A1", "readings": [{"sensor": ["A1-CH4-01"], "ts": t, "value": 1}]})
    publish(publisher, TOPIC, strange)  # an unhashable sensor name used to kill the network thread
    publish(publisher, TOPIC, _body([("A1-CH4-01", t - 100, 1.6)]))
    assert wait_for(lambda: worker.queue.qsize() + worker.urgent.qsize() == 3)
    assert worker.pump(lambda: Alarm.objects.filter(limit_code="ch4_face_return_trip").exists())
