"""Defect 3 of issue 11: with its default options `headframe ingest` must lose nothing when Mosquitto restarts.

The former default, a shared subscription, lost 14 000 of 100 000 acknowledged readings on a SIGTERM restart of
Mosquitto 2.0.x (it does not persist shared subscriptions, so what gateways published before ingest re-subscribed
was dropped). The default is now a plain persistent subscription; a share group is opt-in.

The processes and the database are those of test_mqtt_reliability.py (its helpers are reused); only the options
differ: here ingest runs with its defaults, without --share-group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from headframe.telemetry import mqtt as ingest_mqtt
from tests.telemetry.test_mqtt import Mosquitto, connect_client, publish, wait_for
from tests.telemetry.test_mqtt_reliability import (
    MESSAGES,
    ROOT,
    TOPIC,
    Ingest,
    SharedDatabase,
    _assert_exactly_once,
    stream,
)


class DefaultIngest(Ingest):
    """`headframe ingest` with its default subscription: no --share-group on the command line."""

    def start(self, *extra: str) -> DefaultIngest:
        env = {
            **os.environ,
            "HEADFRAME_DATABASE_URL": self.database.url,
            "HEADFRAME_SECRET_KEY": "test-only-" + "x" * 40,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("HEADFRAME_MQTT_SHARE_GROUP", None)
        args = [
            *("--port", str(self.port), "--client-id", self.client_id),
            *("--max-batch", "20", "--max-wait-ms", "20", "--log-every", "1", *extra),
        ]
        self.log = self.folder / f"ingest-{uuid.uuid4().hex[:6]}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "headframe", "ingest", "--", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        assert wait_for(lambda: self.lines("subscribed") or self.process.poll() is not None, 20)
        assert self.process.poll() is None, self.output()
        return self


@pytest.fixture
def shared(mine, tmp_path):
    return SharedDatabase(tmp_path)


@pytest.fixture
def broker(tmp_path):
    instance = Mosquitto(tmp_path).start()
    yield instance
    instance.stop()


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
