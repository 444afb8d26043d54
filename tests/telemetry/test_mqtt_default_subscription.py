"""Defect 3 of issue 11: with its default options `headframe ingest` must lose nothing when Mosquitto restarts.

The former default, a shared subscription, lost 14 000 of 100 000 acknowledged readings on a SIGTERM restart of
Mosquitto 2.0.x (it does not persist shared subscriptions, so what gateways published before ingest re-subscribed
was dropped). The default is now a plain persistent subscription; a share group is opt-in.

The processes and the database are those of test_mqtt_reliability.py (its helpers are reused, among them
`wait_until_ingesting`: up means a marker reading stored, not a log line); only the options differ: here ingest
runs with its defaults, without --share-group.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time

import pytest

from headframe.telemetry import mqtt as ingest_mqtt
from tests.telemetry.test_mqtt import connect_client, publish, wait_for
from tests.telemetry.test_mqtt_reliability import (
    MESSAGES,
    PER_MESSAGE,
    TOPIC,
    Ingest,
    SharedDatabase,
    _assert_exactly_once,
    stream,
    wait_until_ingesting,
)


class DefaultIngest(Ingest):
    """`headframe ingest` with its default subscription: no --share-group on the command line (nor in the
    environment)."""

    share_group = ()


def _packet_size(buffer: bytes) -> int | None:
    """The size of the first MQTT control packet in buffer (fixed header and remaining length), None if the
    buffer does not hold all of it yet."""
    length, multiplier = 0, 1
    for i in range(1, min(len(buffer), 5)):
        length += (buffer[i] & 0x7F) * multiplier
        if not buffer[i] & 0x80:
            return 1 + i + length if len(buffer) >= 1 + i + length else None
        multiplier *= 128
    return None


class HoldingProxy:
    """A TCP proxy in front of the broker that forwards MQTT packets whole. On the first connection through it,
    after the client's first SUBSCRIBE or UNSUBSCRIBE it holds everything else the client sends until release():
    the moment between the two requests a resumed ingest makes, held open for as long as the test needs.
    `answered` is set once the broker has acknowledged that first request."""

    SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.answered, self.released = threading.Event(), threading.Event()
        self.held = False
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        first = True
        while True:
            try:
                client, _ = self.server.accept()
                upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            except OSError:
                return
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, first), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, first), daemon=True).start()
            first = False

    def _pump(self, source: socket.socket, target: socket.socket, watched: bool) -> None:
        buffer = b""
        try:
            while data := source.recv(65536):
                buffer += data
                while (size := _packet_size(buffer)) is not None:
                    packet, buffer = buffer[:size], buffer[size:]
                    target.sendall(packet)
                    kind = packet[0] >> 4
                    if watched and kind in (self.SUBACK, self.UNSUBACK):
                        self.answered.set()
                    if watched and kind in (self.SUBSCRIBE, self.UNSUBSCRIBE) and not self.held:
                        self.held = True
                        self.released.wait(60)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.close()
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.close()


@pytest.fixture
def shared(mine, tmp_path):
    return SharedDatabase(tmp_path)


@pytest.fixture
def ingests(tmp_path, broker, shared):
    started: list[Ingest] = []

    def start(*extra: str, client_id: str = "ingest-default") -> Ingest:
        process = DefaultIngest(tmp_path, broker.port, shared, client_id).start(*extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def test_the_default_subscription_is_plain_and_persistent_and_a_share_group_is_opt_in(monkeypatch):
    monkeypatch.delenv("HEADFRAME_MQTT_SHARE_GROUP", raising=False)
    parser = ingest_mqtt.build_parser()
    assert parser.parse_args([]).share_group == ""
    worker = ingest_mqtt.IngestWorker(ingest_mqtt.Options())
    assert not [topic for topic, _ in worker.subscriptions() if topic.startswith("$share/")]
    grouped = ingest_mqtt.IngestWorker(ingest_mqtt.Options(share_group="workers"))
    data = [topic for topic, _ in grouped.subscriptions() if "BIRTH" not in topic]
    assert data and all(topic.startswith("$share/workers/") for topic in data)
    # The caveat is stated where the group is chosen.
    assert "CAVEAT" in " ".join(parser.format_help().split())


@pytest.mark.django_db(transaction=True)
def test_broker_sigterm_restart_with_default_options_loses_no_acknowledged_reading(shared, broker, ingests):
    """Half the stream, then a SIGTERM restart of the broker while ingest holds unacknowledged messages, then the
    other half published the moment the broker is back — before ingest has reconnected (its first reconnect
    waits a second). With the former default (a shared group) the broker dropped that second half."""
    messages, total = stream(int(time.time() * 1000) - 600_000)
    half = MESSAGES // 2
    ingest = ingests("--ack-delay-ms", "200")
    publisher = connect_client(broker.port)
    try:
        for payload in messages[:half]:
            publish(publisher, TOPIC, payload)
        assert wait_for(lambda: shared.stored() > 0, 15, 0.005), ingest.output()
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    broker.stop(signal.SIGTERM)  # Mosquitto saves its sessions and queued messages, then exits
    broker.start()
    publisher = connect_client(broker.port)
    try:
        for payload in messages[half:]:
            publish(publisher, TOPIC, payload)  # each one acknowledged by the broker (QoS 1)
        _assert_exactly_once(shared, total, ingest)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    assert ingest.process.poll() is None, "ingest must survive a broker restart"


@pytest.mark.django_db(transaction=True)
def test_upgrading_from_the_former_default_group_does_not_receive_every_message_twice(
    shared, broker, ingests
):
    """A session created by the former default (`$share/headframe/...`) is resumed by the new default: its old
    shared subscription is dropped, so each message is delivered (and counted) once."""
    old = ingests("--share-group", ingest_mqtt.LEGACY_SHARE_GROUP)
    assert old.kill(signal.SIGTERM) == 0
    messages, total = stream(int(time.time() * 1000) - 600_000)
    publisher = connect_client(broker.port)
    try:
        for payload in messages:  # queued in the session for both subscriptions while no ingest runs
            publish(publisher, TOPIC, payload)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    new = ingests()
    _assert_exactly_once(shared, total, new)
    publisher = connect_client(broker.port)
    try:  # and from now on, one delivery per message
        for payload in messages[:20]:
            publish(publisher, TOPIC, payload)
        marker = stream(int(time.time() * 1000) - 300_000)[0][0]
        publish(publisher, TOPIC, marker)
        assert wait_for(lambda: shared.stored() > MESSAGES * 10, 15, 0.05), new.output()
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    # The 20 messages sent again are duplicates once each (20 × 10 readings), not twice each.
    assert wait_for(lambda: shared.duplicates_seen() >= 200, 10, 0.05)
    assert shared.duplicates_seen() == 200


@pytest.mark.django_db(transaction=True)
def test_a_message_published_while_a_resumed_session_changes_its_subscriptions_is_not_lost(
    tmp_path, shared, broker, ingests
):
    """Resuming a session of the former default group, ingest must subscribe plainly before it drops the old
    shared subscription: in the other order the broker drops what gateways publish in between (nothing matches).
    A message that matches both is delivered twice and stored once. A proxy holds ingest's second request back, so
    the test publishes exactly in between."""
    old = ingests("--share-group", ingest_mqtt.LEGACY_SHARE_GROUP)
    assert old.kill(signal.SIGTERM) == 0
    proxy = HoldingProxy(broker.port)
    new = DefaultIngest(tmp_path, proxy.port, shared, "ingest-default")
    try:
        new.launch()
        assert wait_for(lambda: proxy.answered.is_set() or new.process.poll() is not None, 20), new.output()
        assert new.process.poll() is None, new.output()
        publisher = connect_client(broker.port)
        try:  # acknowledged by the broker: delivered to the session, or dropped, by now
            publish(publisher, TOPIC, stream(int(time.time() * 1000) - 600_000)[0][0])
        finally:
            publisher.disconnect()
            publisher.loop_stop()
        proxy.release()
        wait_until_ingesting(new, broker.port)  # a marker published after the message, stored
        assert shared.stored() == PER_MESSAGE, "the message published between the two requests was lost"
    finally:
        new.kill()
        proxy.close()
