"""Mine-edge buffering: a mine's Mosquitto bridged to the group's with the bridge.conf `headframe mqtt-config
--bridge-to HOST:PORT --site CODE` writes (broker_config.write_bridge, rendered with the test's ports). The link
is cut (the group broker stopped), the mine's gateways go on publishing, the mine's broker restarts meanwhile,
the link comes back — and every reading arrives at the group exactly once.

Two brokers of the tests' own (free ports, persistence on, under tmp_path); what the group broker delivers is
counted by a subscriber with a persistent session (QoS 1), as `headframe ingest` subscribes. Brokers only: the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
import uuid

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from headframe.telemetry.bridge_config import Bridge, bridge_text, parse_address, write_bridge
from headframe.telemetry.broker_config import BrokerConfigError
from tests.telemetry.test_mqtt import Mosquitto, connect_client, publish, wait_for

SITE = "A-M1"
MESSAGES, PER_MESSAGE = 1_000, 10  # 10 000 readings
TOPIC = f"headframe/v1/{SITE}/GW-A1/readings"
PROBE_TOPIC = f"headframe/v1/{SITE}/GW-PROBE/readings"


class GroupSubscriber:
    """A persistent-session QoS 1 subscriber on the group broker that keeps everything it receives."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"group-ingest-{uuid.uuid4().hex[:6]}", clean_session=False
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda client, *_: client.subscribe("headframe/v1/#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the group broker did not confirm the subscription"

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.received.append((message.topic, message.payload))

    def readings(self) -> list[tuple[str, int]]:
        """Every (sensor, ts) received on the readings topic, duplicates included."""
        with self.lock:
            payloads = [payload for topic, payload in self.received if topic == TOPIC]
        return [(r["sensor"], r["ts"]) for p in payloads for r in orjson.loads(p)["readings"]]

    def probes(self) -> set[bytes]:
        with self.lock:
            return {payload for topic, payload in self.received if topic == PROBE_TOPIC}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _through_the_bridge(mine: Mosquitto, subscriber: GroupSubscriber, timeout: float = 20) -> None:
    """Publish a probe at the mine until the group's subscriber has it: the bridge is up and has delivered
    what it held before the probe (one session's messages are forwarded in order)."""
    publisher = connect_client(mine.port)
    probe = uuid.uuid4().hex.encode()
    deadline = time.monotonic() + timeout
    try:
        while probe not in subscriber.probes():
            assert time.monotonic() < deadline, (
                f"nothing came through the bridge in {timeout:.0f} s:\n{mine.log.read_text()[-3000:]}"
            )
            publish(publisher, PROBE_TOPIC, probe)
            wait_for(lambda: probe in subscriber.probes(), 1.0, 0.02)
    finally:
        publisher.disconnect()
        publisher.loop_stop()


@pytest.fixture
def brokers(tmp_path):
    (tmp_path / "group").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "conf.d").mkdir()
    group = Mosquitto(tmp_path / "group").start()
    write_bridge(tmp_path / "conf.d", Bridge(SITE, "127.0.0.1", group.port))
    mine = Mosquitto(tmp_path / "mine")
    with mine.config.open("a") as config:  # the mine's own settings, then the shipped bridge file
        config.write(f"include_dir {tmp_path / 'conf.d'}\n")
    mine.start()
    yield mine, group
    mine.stop()
    group.stop()


def test_a_cut_bridge_queues_at_the_mine_and_delivers_every_reading_once(brokers):
    mine, group = brokers
    subscriber = GroupSubscriber(group.port)
    try:
        _through_the_bridge(mine, subscriber)
        group.stop()  # the link to the group is cut
        start = int(time.time() * 1000) - 3_600_000
        publisher = connect_client(mine.port)
        try:
            for i in range(MESSAGES):
                readings = [
                    {"sensor": f"A1-CH4-{j:02d}", "ts": start + i * 1000, "value": 0.3}
                    for j in range(PER_MESSAGE)
                ]
                publish(publisher, TOPIC, orjson.dumps({"gateway": "GW-A1", "seq": i, "readings": readings}))
        finally:
            publisher.disconnect()
            publisher.loop_stop()
        # The mine's broker restarts while cut: its queue for the bridge is in the persistence file.
        mine.stop()
        mine.start()
        group.start()  # the link is back
        assert wait_for(lambda: len(subscriber.readings()) >= MESSAGES * PER_MESSAGE, 25, 0.1), (
            f"{len(subscriber.readings())} readings arrived:\n{mine.log.read_text()[-3000:]}"
        )
        # A probe after the stream arrives behind it: any late resend has arrived too.
        _through_the_bridge(mine, subscriber)
        readings = subscriber.readings()
        assert len(readings) == len(set(readings)) == MESSAGES * PER_MESSAGE
    finally:
        subscriber.close()


def test_the_bridge_file_names_the_group_the_site_and_a_day_of_queue(tmp_path):
    path = write_bridge(tmp_path, Bridge("B-M1", "group.example", 8883, sparkplug_groups=("MINE-B",)))
    lines = path.read_text().splitlines()
    assert "address group.example:8883" in lines
    assert "cleansession false" in lines and "remote_clientid bridge-B-M1" in lines
    assert "topic headframe/v1/B-M1/# out 1" in lines
    assert "topic spBv1.0/MINE-B/NDATA/# out 1" in lines and "topic spBv1.0/MINE-B/NCMD/# in 1" in lines
    # 500 sensors × 86 400 s / 50 readings per message = 864 000 messages a day, 1 000 000 with the margin.
    assert Bridge("B-M1", "h").queue_size() == (864_000, 1_000_000, 3_160_000_000)
    assert "max_queued_messages 1000000" in lines
    assert parse_address("[::1]:1884") == ("::1", 1884) and parse_address("10.0.0.9") == ("10.0.0.9", 1883)
    with pytest.raises(BrokerConfigError):
        parse_address("group.example:port")
    with pytest.raises(BrokerConfigError):
        bridge_text(Bridge("B M1", "h"))
