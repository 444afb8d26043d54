"""Nothing acknowledged is lost and nothing is stored twice: `headframe ingest` runs as a separate process
against its own Mosquitto (persistence on) and the test database, is killed with SIGKILL in the middle of a
QoS 1 stream and started again, or sees the broker restart under it.

On PostgreSQL the process writes into the test database itself; on SQLite the in-memory test database is
copied into a file (VACUUM INTO) that the process opens, and the test reads the results from that file.

Nothing here waits on a log line: that ingest is up (connected, subscribed, storing) is known from an outcome —
a marker reading published until the database holds it (`wait_until_ingesting`, also used by
test_mqtt_default_subscription.py). The marker has a gateway and sensor of its own and is left out of the counts.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest
from django.db import connection

from tests.telemetry.test_mqtt import connect_client, publish, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "headframe/v1/A-M1/GW-A1/readings"
MESSAGES = 160
PER_MESSAGE = 10  # 5 CH4 + 5 CO readings
MARKER_GATEWAY, MARKER_SENSOR = "GW-MARK", "MARK-T-01"  # at the same site, for wait_until_ingesting only
MARKER_TOPIC = f"headframe/v1/A-M1/{MARKER_GATEWAY}/readings"


def _register_marker() -> int:
    """The marker's gateway and sensor, registered before the database is shared; the sensor's id."""
    from headframe.org.models import Unit
    from headframe.telemetry import services
    from headframe.telemetry.models import Gateway

    gateway = Gateway.objects.create(code=MARKER_GATEWAY, site=Unit.objects.get(code="A-M1"), name="marker")
    sensor = services.sensor_create(
        actor=None,
        code=MARKER_SENSOR,
        kind="temperature_c",
        location="roadway",
        position=Unit.objects.get(code="A-M1-K1-F1"),
        gateway=gateway,
    )
    return sensor.pk


class SharedDatabase:
    """The test database as a URL another process can open, and counts read back from it."""

    def __init__(self, folder: Path) -> None:
        settings = connection.settings_dict
        self.file: Path | None = None
        self.marker_id = _register_marker()  # before the SQLite copy below: the copy holds it
        if connection.vendor == "sqlite":
            self.file = folder / "ingest.sqlite3"
            if connection.is_in_memory_db():
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM INTO %s", [str(self.file)])
            else:
                self.file = Path(settings["NAME"])
            self.url = f"sqlite:///{self.file}"
        elif connection.vendor == "postgresql":
            auth = quote(settings["USER"] or "", safe="")
            if settings["PASSWORD"]:
                auth += ":" + quote(settings["PASSWORD"], safe="")
            host = settings["HOST"] or "localhost"
            port = settings["PORT"] or 5432
            self.url = f"postgresql://{auth}@{host}:{port}/{settings['NAME']}"
        else:
            pytest.skip(f"no shared test database on {connection.vendor}")

    def query(self, sql: str) -> tuple:
        if self.file is not None:
            with sqlite3.connect(self.file, timeout=20) as db:
                return db.execute(sql).fetchone()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()

    def readings(self) -> tuple[int, int, float]:
        """(rows, distinct (sensor, ts), sum of values), the markers left out."""
        return self.query(
            "SELECT COUNT(*), COUNT(DISTINCT sensor_id * 10000000000000 + ts), COALESCE(SUM(value), 0) "
            f"FROM telemetry_reading WHERE sensor_id <> {int(self.marker_id)}"
        )

    def has_marker(self, ts: int) -> bool:
        row = self.query(
            f"SELECT COUNT(*) FROM telemetry_reading WHERE sensor_id = {int(self.marker_id)} AND ts = {int(ts)}"
        )
        return row[0] == 1

    def stored(self) -> int:
        return self.readings()[0]

    def duplicates_seen(self) -> int:
        row = self.query(
            "SELECT COALESCE(SUM(count), 0) FROM telemetry_gatewaycounter "
            "WHERE gateway_code = 'GW-A1' AND outcome = 'duplicate'"
        )
        return int(row[0])


class Ingest:
    """`python -m headframe ingest` as a subprocess, its output in a log file (read when a test fails)."""

    share_group: tuple[str, ...] = ("--share-group", "reliability")

    def __init__(self, folder: Path, port: int, database: SharedDatabase, client_id: str) -> None:
        self.folder, self.port, self.database, self.client_id = folder, port, database, client_id
        self.process: subprocess.Popen | None = None
        self.log = folder / f"ingest-{uuid.uuid4().hex[:6]}.log"
        self.environment: dict[str, str] = {}  # more variables for the process (e.g. PGAPPNAME)

    def start(self, *extra: str) -> Ingest:
        """Started, and storing what it receives."""
        self.launch(*extra)
        wait_until_ingesting(self)
        return self

    def launch(self, *extra: str) -> Ingest:
        env = {
            **os.environ,
            "HEADFRAME_DATABASE_URL": self.database.url,
            "HEADFRAME_SECRET_KEY": "test-only-" + "x" * 40,
            "PYTHONUNBUFFERED": "1",
            **self.environment,
        }
        env.pop("HEADFRAME_MQTT_SHARE_GROUP", None)
        args = [
            *("--port", str(self.port), "--client-id", self.client_id, *self.share_group),
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
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self, sig: int = signal.SIGKILL) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        return self.process.wait(timeout=15)


_marker_ts = itertools.count(int(time.time() * 1000))


def wait_until_ingesting(ingest: Ingest, port: int | None = None, timeout: float = 30.0) -> None:
    """Wait for an outcome, not a log line: publish a marker reading (QoS 1, a timestamp of its own) again and
    again until the database holds it. Then ingest is connected, subscribed to readings and storing them — and,
    one session's messages being delivered in order, it has taken what the broker held for it before the marker.
    However often it was sent, the marker is stored once (duplicates are counted under its own gateway), and
    SharedDatabase.readings() leaves it out. `port`: the broker's, when ingest connects through something else."""
    ts = next(_marker_ts)
    reading = {"sensor": MARKER_SENSOR, "ts": ts, "value": 20.0}
    payload = orjson.dumps({"gateway": MARKER_GATEWAY, "readings": [reading]})
    publisher = connect_client(port or ingest.port)
    deadline = time.monotonic() + timeout
    try:
        while not ingest.database.has_marker(ts):
            assert ingest.process.poll() is None, f"ingest exited:\n{ingest.output()}"
            assert time.monotonic() < deadline, (
                f"ingest stored no marker in {timeout:.0f} s:\n{ingest.output()}"
            )
            publish(publisher, MARKER_TOPIC, payload)
            wait_for(lambda: ingest.database.has_marker(ts), 0.5, 0.02)
    finally:
        publisher.disconnect()
        publisher.loop_stop()


@pytest.fixture
def shared(mine, tmp_path):
    return SharedDatabase(tmp_path)


@pytest.fixture
def ingests(tmp_path, broker, shared):
    started: list[Ingest] = []

    def start(*extra: str, client_id: str = "ingest-reliability") -> Ingest:
        process = Ingest(tmp_path, broker.port, shared, client_id).start(*extra)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def stream(start_ms: int):
    """MESSAGES messages of PER_MESSAGE readings each, every (sensor, ts) unique; and the expected sum."""
    messages, total = [], 0.0
    for i in range(MESSAGES):
        readings = []
        for j in range(PER_MESSAGE // 2):
            ts = start_ms + (i * PER_MESSAGE + j) * 10
            ch4, co = round(0.2 + (i % 7) / 100, 2), float(4 + j)
            readings += [
                {"sensor": "A1-CH4-01", "ts": ts, "value": ch4},
                {"sensor": "A1-CO-01", "ts": ts, "value": co},
            ]
            total += ch4 + co
        messages.append(orjson.dumps({"gateway": "GW-A1", "seq": i, "readings": readings}))
    return messages, total


def _assert_exactly_once(shared: SharedDatabase, total: float, ingest: Ingest) -> None:
    expected = MESSAGES * PER_MESSAGE
    assert wait_for(lambda: shared.stored() >= expected, 30, 0.1), (
        f"{shared.stored()} of {expected} readings stored; ingest said:\n{ingest.output()}\n"
        f"broker said:\n{(ingest.folder / 'mosquitto.log').read_text(errors='replace')[-3000:]}"
    )
    rows, distinct, value_sum = shared.readings()
    assert rows == distinct == expected
    assert value_sum == pytest.approx(total)


def test_ingest_killed_mid_stream_loses_nothing_and_stores_nothing_twice(shared, broker, ingests):
    messages, total = stream(int(time.time() * 1000) - 600_000)
    half = MESSAGES // 2
    # Wait 300 ms between the commit and the acknowledgement: the kill lands after a commit, before its ack.
    first = ingests("--ack-delay-ms", "300")
    publisher = connect_client(broker.port)
    try:
        for payload in messages[:half]:
            publish(publisher, TOPIC, payload)
        assert wait_for(lambda: shared.stored() > 0, 15, 0.005), first.output()
        assert first.kill(signal.SIGKILL) == -signal.SIGKILL
        stored_at_kill = shared.stored()
        assert stored_at_kill < MESSAGES * PER_MESSAGE
        for payload in messages[half:]:  # while no ingest runs: the broker keeps them in the session
            publish(publisher, TOPIC, payload)
        second = ingests()
        _assert_exactly_once(shared, total, second)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    # The messages committed but not acknowledged before the kill came again (the session was resumed) and were
    # recognised.
    assert wait_for(lambda: shared.duplicates_seen() > 0, 5, 0.1)


def _restart_broker_mid_stream(shared, broker, ingest, *, wait_for_resubscribe: bool) -> None:
    messages, total = stream(int(time.time() * 1000) - 600_000)
    half = MESSAGES // 2
    publisher = connect_client(broker.port)
    try:
        for payload in messages[:half]:
            publish(publisher, TOPIC, payload)
        assert wait_for(lambda: shared.stored() > 0, 15, 0.005), ingest.output()
        broker.stop()  # with messages in flight to the ingest and unacknowledged
        broker.start()
        assert wait_for(lambda: publisher.is_connected(), 15, 0.05)
        if wait_for_resubscribe:  # a marker stored after the restart: ingest is subscribed again
            wait_until_ingesting(ingest, broker.port)
        for payload in messages[half:]:
            publish(publisher, TOPIC, payload)
        _assert_exactly_once(shared, total, ingest)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    assert ingest.process.poll() is None, "ingest must survive a broker restart"


def test_broker_restart_mid_stream_ingest_reconnects_and_loses_nothing(shared, broker, ingests):
    """Shared subscription: Mosquitto 2.0.11 forgets a shared group's members when it restarts (they are not in
    its persistence file) and drops what is published to the group until a member subscribes again — the broker's
    loss, not ingest's. So the second half is published once ingest has re-subscribed; everything ingest received,
    including what was in flight when the broker stopped, is stored exactly once."""
    ingest = ingests("--ack-delay-ms", "200")
    _restart_broker_mid_stream(shared, broker, ingest, wait_for_resubscribe=True)


def test_broker_restart_with_a_plain_subscription_keeps_what_is_published_meanwhile(shared, broker, ingests):
    """With --share-group "" (one ingest process) the broker persists the subscription, queues what gateways
    publish before ingest is back, and nothing is lost even when publishing resumes first."""
    ingest = ingests("--ack-delay-ms", "200", "--share-group", "")
    _restart_broker_mid_stream(shared, broker, ingest, wait_for_resubscribe=False)


def test_sigterm_stores_and_acknowledges_what_arrived_then_exits_cleanly(shared, broker, ingests):
    messages, total = stream(int(time.time() * 1000) - 600_000)
    ingest = ingests()
    publisher = connect_client(broker.port)
    try:
        for payload in messages:
            publish(publisher, TOPIC, payload)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    _assert_exactly_once(shared, total, ingest)
    assert ingest.kill(signal.SIGTERM) == 0  # a clean exit
    # Restarted, the same session gets nothing again: everything was acknowledged. The new ingest has stored a
    # marker, and whatever the broker still held for the session was delivered before it.
    again = ingests()
    assert shared.duplicates_seen() == 0
    assert shared.readings()[0] == MESSAGES * PER_MESSAGE
    assert again.process.poll() is None


def test_database_connection_lost_mid_stream_is_retried_and_nothing_is_lost(shared, broker, ingests):
    if connection.vendor != "postgresql":
        pytest.skip("cutting a live database connection is a PostgreSQL test")
    messages, total = stream(int(time.time() * 1000) - 600_000)
    half = MESSAGES // 2
    ingest = ingests()
    publisher = connect_client(broker.port)
    try:
        for payload in messages[:half]:
            publish(publisher, TOPIC, payload)
        assert wait_for(lambda: shared.stored() > 0, 15, 0.005), ingest.output()
        with connection.cursor() as cursor:  # what a database restart does to the ingest's connection
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            cut = [row[0] for row in cursor.fetchall()]
        assert True in cut, "no ingest connection was cut: the test proved nothing"
        for payload in messages[half:]:
            publish(publisher, TOPIC, payload)
        # The outcome, not the path: whether the cut hit a flush or an idle connection is timing; either way
        # every reading is stored exactly once and the ingest is still running.
        _assert_exactly_once(shared, total, ingest)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    assert ingest.process.poll() is None, ingest.output()
