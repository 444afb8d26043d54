"""Three `headframe ingest` processes on one shared subscription ($share/<group>/...) and PostgreSQL: one is
killed with SIGKILL mid-stream — after it committed, before it acknowledged — and started again with the same
client id, as systemd would. Every reading is stored exactly once and every methane excursion raises exactly one
alarm, whichever process took which message (one gateway's messages are spread over the three, so a sensor's
readings are stored by several processes, out of order).

Each process's share is made observable in the database itself: the processes connect with their own
PostgreSQL application_name (PGAPPNAME), and a trigger the test puts on telemetry_reading (dropped at teardown)
counts the rows each one inserted. PostgreSQL only: SQLite has one writer, so several ingest processes on one
SQLite file are not a deployment headframe supports.

What Mosquitto 2.0.11 does, seen here: the dead member keeps its turn in the shared group — a third of what is
published while it is dead waits in its persistent session (not handed to the live members) and is delivered,
with its unacknowledged in-flight messages, when it comes back under the same client id. So a dead worker must
be restarted (systemd Restart=always): until then a third of the readings, and the alarms they raise, wait.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterable

import orjson
import pytest
from django.db import connection

from headframe.org.models import Unit
from headframe.telemetry import services
from headframe.telemetry.directory import directory
from headframe.telemetry.models import Gateway, Sensor
from tests.telemetry.test_mqtt import connect_client, publish, wait_for
from tests.telemetry.test_mqtt_reliability import (
    MARKER_GATEWAY,
    MARKER_SENSOR,
    MARKER_TOPIC,
    Ingest,
    SharedDatabase,
)

pytestmark = pytest.mark.django_db(transaction=True)

GATEWAYS = ("GW-A1", "GW-A2", "GW-A3")
MESSAGES_PER_GATEWAY = 80
TS_PER_MESSAGE = 4  # each message: 4 instants × (2 CH4 + 1 CO) readings
TRIP = "ch4_face_return_trip"  # 1.0 %, latching, no on-delay (QCVN 01:2011/BCT profile)
EXCURSION, NORMAL = 1.25, 0.3
SHARE_GROUP = "workers"
EARLY_EXCURSION = 12  # the message index of the first CH4 heads' excursions
KILLED, SECOND, THIRD, RESTARTED = "hf-worker-1", "hf-worker-2", "hf-worker-3", "hf-worker-1-again"


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("several ingest processes need PostgreSQL: SQLite has a single writer")


def _sensors(mine) -> dict[str, tuple[str, ...]]:
    """Per gateway (all at site A-M1): two CH4 heads in the face return air and one CO head."""
    site = Unit.objects.get(code="A-M1")
    gateways = {"GW-A1": mine.gateway}
    for code in GATEWAYS[1:]:
        gateways[code] = Gateway.objects.create(code=code, site=site, name=code)
    layout = {}
    for code, gateway in gateways.items():
        n = code[-1]
        names = (f"A{n}-CH4-01", f"A{n}-CH4-02", f"A{n}-CO-01")
        for name, kind in zip(names, ("ch4_pct", "ch4_pct", "co_ppm"), strict=True):
            if not gateway.sensors.filter(code=name).exists():
                services.sensor_create(
                    actor=None,
                    code=name,
                    kind=kind,
                    location="face_return",
                    position=mine.face,
                    gateway=gateway,
                    period_s=10,
                )
        layout[code] = names
    directory.invalidate()
    return layout


def _stream(layout: dict[str, tuple[str, ...]], start_ms: int):
    """(topic, payload) in publishing order — the gateways interleaved — the expected sum of values, the CH4
    heads and the first (sensor, ts) of each early excursion. Each CH4 head goes beyond the trip in one message
    and back to normal in the next; a latching trip raises one alarm per head, however the readings are spread
    and ordered. The first heads' excursions are in three messages published one after the other: the broker
    hands them round, so one goes to the process that will be killed."""
    excursion_at = {}  # sensor -> message index of its excursion
    for g, code in enumerate(GATEWAYS):
        ch4_a, ch4_b, _co = layout[code]
        excursion_at[ch4_a] = EARLY_EXCURSION  # before the kill
        excursion_at[ch4_b] = 50 + 6 * g  # after it
    early = [(layout[code][0], start_ms + EARLY_EXCURSION * TS_PER_MESSAGE * 50) for code in GATEWAYS]
    per_gateway: dict[str, list[bytes]] = {code: [] for code in GATEWAYS}
    total = 0.0
    for i in range(MESSAGES_PER_GATEWAY):
        for code in GATEWAYS:
            readings = []
            for k in range(TS_PER_MESSAGE):
                ts = start_ms + (i * TS_PER_MESSAGE + k) * 50
                for sensor in layout[code]:
                    if "-CO-" in sensor:
                        value = float(4 + k)
                    elif excursion_at[sensor] == i:
                        value = EXCURSION + k / 100
                    else:
                        value = round(NORMAL + (i % 7) / 100, 2)
                    readings.append({"sensor": sensor, "ts": ts, "value": value})
                    total += value
            per_gateway[code].append(orjson.dumps({"gateway": code, "seq": i, "readings": readings}))
    ordered = [
        (f"headframe/v1/A-M1/{code}/readings", per_gateway[code][i])
        for i in range(MESSAGES_PER_GATEWAY)
        for code in GATEWAYS
    ]
    return ordered, total, sorted(excursion_at), early


class Shares:
    """Who inserted which row into telemetry_reading: (application_name, sensor, ts) copied by a test-only trigger
    into a table of its own."""

    def __init__(self, marker_id: int) -> None:
        self.marker_id = int(marker_id)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE test_worker_rows (app text NOT NULL, sensor_id bigint, ts bigint)")
            cursor.execute(
                """
                CREATE FUNCTION test_worker_rows_copy() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    INSERT INTO test_worker_rows VALUES (current_setting('application_name'), NEW.sensor_id, NEW.ts);
                    RETURN NULL;
                END $$
                """
            )
            cursor.execute(
                "CREATE TRIGGER test_worker_rows AFTER INSERT ON telemetry_reading "
                "FOR EACH ROW EXECUTE FUNCTION test_worker_rows_copy()"
            )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_worker_rows ON telemetry_reading")
            cursor.execute("DROP FUNCTION IF EXISTS test_worker_rows_copy()")
            cursor.execute("DROP TABLE IF EXISTS test_worker_rows")

    def counts(self, since_ts: int = 0) -> dict[str, tuple[int, int]]:
        """app -> (readings, markers) it inserted; readings only from `since_ts` on."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT app, COUNT(*) FILTER (WHERE sensor_id <> %s AND ts >= %s), "
                "COUNT(*) FILTER (WHERE sensor_id = %s) FROM test_worker_rows GROUP BY app",
                [self.marker_id, since_ts, self.marker_id],
            )
            return {app: (readings, markers) for app, readings, markers in cursor.fetchall()}

    def readings(self, app: str, since_ts: int = 0) -> int:
        return self.counts(since_ts).get(app, (0, 0))[0]

    def stored_any(self, app: str, keys: list[tuple[int, int]]) -> bool:
        """Whether `app` inserted one of these (sensor id, ts)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM test_worker_rows WHERE app = %s "
                "AND sensor_id * 10000000000000 + ts = ANY(%s))",
                [app, [sid * 10_000_000_000_000 + ts for sid, ts in keys]],
            )
            return cursor.fetchone()[0]


@pytest.fixture
def shared(postgresql, mine, tmp_path):
    return SharedDatabase(tmp_path)


@pytest.fixture
def shares(shared):
    instance = Shares(shared.marker_id)
    yield instance
    instance.drop()


@pytest.fixture
def workers(tmp_path, broker, shared, shares):
    started: list[Ingest] = []

    def launch(app: str, client_id: str, *extra: str) -> Ingest:
        worker = Ingest(tmp_path, broker.port, shared, client_id)
        worker.share_group = ("--share-group", SHARE_GROUP)
        worker.environment = {"PGAPPNAME": app}
        started.append(worker.launch(*extra))
        return worker

    yield launch
    for worker in started:
        worker.kill()


_marker_ts = itertools.count(int(time.time() * 1000) - 3_000_000)


def wait_until_each_stores(
    shares: Shares, running: dict[str, Ingest], port: int, timeout: float = 40
) -> None:
    """Publish marker readings (each its own timestamp) until every named process has stored a new one. The
    broker hands a shared group's messages round: each process then is subscribed and storing — and, one
    session's messages coming in order, has taken what the broker held for it before."""
    before = {app: markers for app, (_r, markers) in shares.counts().items()}
    publisher = connect_client(port)
    deadline = time.monotonic() + timeout

    def all_stored() -> bool:
        now = shares.counts()
        return all(now.get(app, (0, 0))[1] > before.get(app, 0) for app in running)

    try:
        while not all_stored():
            for app, worker in running.items():
                assert worker.process.poll() is None, f"{app} exited:\n{worker.output()}"
            assert time.monotonic() < deadline, f"not every process stored a marker: {shares.counts()}"
            reading = {"sensor": MARKER_SENSOR, "ts": next(_marker_ts), "value": 20.0}
            publish(publisher, MARKER_TOPIC, orjson.dumps({"gateway": MARKER_GATEWAY, "readings": [reading]}))
            wait_for(all_stored, 0.2, 0.02)
    finally:
        publisher.disconnect()
        publisher.loop_stop()


def _per_sensor(sql: str, sensors: Iterable[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(sensors)])
        return dict(cursor.fetchall())


def _alarms(sensors: list[str], limit_code: str) -> dict[str, int]:
    return _per_sensor(
        "SELECT s.code, COUNT(a.id) FROM telemetry_sensor s LEFT JOIN telemetry_alarm a "
        f"ON a.sensor_id = s.id AND a.limit_code = '{limit_code}' WHERE s.code = ANY(%s) GROUP BY s.code",
        sensors,
    )


def _raised_events(sensors: list[str], limit_code: str) -> dict[str, int]:
    return _per_sensor(
        "SELECT s.code, COUNT(j.id) FROM telemetry_sensor s "
        f"LEFT JOIN telemetry_alarmcondition c ON c.sensor_id = s.id AND c.limit_code = '{limit_code}' "
        "LEFT JOIN telemetry_alarmjournal j ON j.condition_id = c.id AND j.event = 'raised' "
        "WHERE s.code = ANY(%s) GROUP BY s.code",
        sensors,
    )


def _what_happened() -> str:
    """For a failure message: the gateways' counters and what was quarantined, and why."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT gateway_code, outcome, count FROM telemetry_gatewaycounter ORDER BY 1, 2")
        counters = cursor.fetchall()
        cursor.execute("SELECT gateway_code, reason, LEFT(detail, 200) FROM telemetry_quarantine LIMIT 5")
        quarantined = cursor.fetchall()
    return f"counters {counters}; quarantined {quarantined}"


def _gateway_counts(outcome: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(count), 0) FROM telemetry_gatewaycounter "
            "WHERE gateway_code = ANY(%s) AND outcome = %s",
            [list(GATEWAYS), outcome],
        )
        return int(cursor.fetchone()[0])


def test_three_workers_one_killed_store_every_reading_and_raise_every_alarm_once(
    mine, shared, shares, broker, workers
):
    layout = _sensors(mine)
    start_ms = int(time.time() * 1000) - 120_000
    messages, total, ch4_heads, early = _stream(layout, start_ms)
    ids = dict(Sensor.objects.values_list("code", "id"))
    early_keys = [(ids[code], ts) for code, ts in early]
    expected = len(messages) * TS_PER_MESSAGE * 3
    # The one to be killed waits 300 ms between each commit and its acknowledgements: the kill lands there.
    killed = workers(KILLED, "ingest-worker-1", "--ack-delay-ms", "300")
    running = {
        KILLED: killed,
        SECOND: workers(SECOND, "ingest-worker-2"),
        THIRD: workers(THIRD, "ingest-worker-3"),
    }
    wait_until_each_stores(shares, running, broker.port)

    kill_after = int(len(messages) * 0.45)
    after_kill_ts = (
        start_ms + -(-kill_after // len(GATEWAYS)) * TS_PER_MESSAGE * 50
    )  # published after the kill
    publisher = connect_client(broker.port)
    try:
        for topic, payload in messages[:kill_after]:
            publish(publisher, topic, payload)
        # Killed as soon as it has committed an excursion (its alarm with it), before it acknowledges it.
        assert wait_for(lambda: shares.stored_any(KILLED, early_keys), 15, 0.005), (
            f"{shares.counts()}\n{killed.output()}"
        )
        assert killed.kill(signal.SIGKILL) == -signal.SIGKILL
        del running[KILLED]
        stored_at_kill = shared.stored()
        assert 0 < stored_at_kill < expected
        for topic, payload in messages[kill_after:]:  # one member is away: the others go on
            publish(publisher, topic, payload)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    # Back under the same client id, as systemd restarts it: the broker resumes its session.
    running[RESTARTED] = workers(RESTARTED, "ingest-worker-1")
    assert wait_for(lambda: shared.stored() >= expected, 30, 0.1), (
        f"{shared.stored()} of {expected} readings stored; shares {shares.counts()}; {_what_happened()}"
    )
    # Each process has stored a marker after that: whatever the broker held for it was delivered before.
    wait_until_each_stores(shares, running, broker.port)

    rows, distinct, value_sum = shared.readings()
    assert rows == distinct == expected
    assert value_sum == pytest.approx(total)
    # Each reading counted once per gateway: in order ("stored") or late but new ("out_of_order": what the restarted
    # member's session held is older than what the two others stored meanwhile, as is any message another member
    # committed first) — how the two split depends on the broker's hand-out, their sum never does.
    assert _gateway_counts("stored") + _gateway_counts("out_of_order") == expected
    counts = shares.counts()
    assert all(counts.get(app, (0, 0))[0] > 0 for app in (KILLED, SECOND, THIRD)), counts
    assert sum(readings for readings, _m in counts.values()) == expected
    # The killed process's committed but unacknowledged messages came again to its session and were recognised.
    assert _gateway_counts("duplicate") > 0
    # Mosquitto 2.0.11 kept the absent member's turn in the group: part of what was published while it was dead
    # waited in its session and was stored by it once back — not by the two that were running.
    assert shares.readings(RESTARTED, since_ts=after_kill_ts) > 0, shares.counts(after_kill_ts)
    # Every methane head crossed the trip once: one alarm, one "raised" in the journal, and no early warning
    # (each excursion lasts 150 ms, far less than the warning's 10 s on-delay).
    assert _alarms(ch4_heads, TRIP) == dict.fromkeys(ch4_heads, 1)
    assert _raised_events(ch4_heads, TRIP) == dict.fromkeys(ch4_heads, 1)
    assert _alarms(ch4_heads, "ch4_face_return_warn") == dict.fromkeys(ch4_heads, 0)
