"""Raw readings in VictoriaMetrics (the real binary, started here): written through the SQL outbox in the ingest
transaction, shipped in batches, read back merged with what still waits; a store that is down loses nothing and
never holds up ingest or alarms."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from django.db import connection, transaction

from headframe.telemetry import selectors
from headframe.telemetry.models import Alarm, Reading, ReadingAggregate, ReadingOutbox, SensorState
from headframe.telemetry.storage import (
    VictoriaMetricsReadingStore,
    VictoriaMetricsUnavailable,
    ensure_shipper,
    history_copy,
    outbox,
    reading_store,
)
from tests.telemetry.victoria import VictoriaMetrics

NOW_MS = (int(time.time()) // 60) * 60_000  # real time: VictoriaMetrics drops samples outside its retention


@pytest.fixture(scope="module")
def victoria(tmp_path_factory):
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria")).start()
    yield server
    server.stop()


@pytest.fixture
def store(configured, mine) -> VictoriaMetricsReadingStore:
    return configured


@pytest.fixture
def configured(victoria, settings) -> VictoriaMetricsReadingStore:
    """The VictoriaMetrics store configured, on an empty database of series."""
    if victoria.process is None:
        victoria.start()
    settings.READING_STORE = "victoriametrics"
    settings.VICTORIAMETRICS_URL = victoria.url
    configured = reading_store()
    assert isinstance(configured, VictoriaMetricsReadingStore)
    match = urllib.parse.urlencode({"match[]": '{__name__="headframe_reading"}'})
    configured.client._call("POST", f"/api/v1/admin/tsdb/delete_series?{match}", b"", 10)
    return configured


def _ch4(*points):
    return [("A1-CH4-01", NOW_MS - 60_000 + t * 1000, v) for t, v in points]


def _in_victoria(store, sensor, first=NOW_MS - 120_000, last=NOW_MS) -> list[tuple[int, float]]:
    return sorted(store.client.export(sensor.id, first, last, 5).items())


def _waiting(sensor) -> list[tuple[int, float]]:
    return list(ReadingOutbox.objects.filter(sensor=sensor).order_by("ts").values_list("ts", "value"))


def test_ingested_readings_reach_victoriametrics_and_the_history_api(store, mine, send, api, users):
    result = send(_ch4((0, 0.41), (1, 0.42), (2, 0.43)), now_ms=NOW_MS)
    assert result.stored == 3
    assert len(_waiting(mine.ch4)) == 3 and not Reading.objects.exists()  # raw history leaves SQL
    assert ReadingAggregate.objects.filter(sensor=mine.ch4, step="1m").exists()  # aggregates stay in SQL

    assert store.ship_all() == 3
    assert _waiting(mine.ch4) == []
    expected = [(NOW_MS - 60_000, 0.41), (NOW_MS - 59_000, 0.42), (NOW_MS - 58_000, 0.43)]
    assert _in_victoria(store, mine.ch4) == expected

    start = dt.datetime.fromtimestamp((NOW_MS - 120_000) / 1000, tz=dt.UTC)
    end = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC)
    assert selectors.readings_range(mine.ch4, start, end, "raw")["points"] == [list(p) for p in expected]
    response = api(users.admin_a).get(
        "/api/v1/telemetry/sensors/A1-CH4-01/readings",
        **{"from": start.isoformat(), "to": end.isoformat(), "step": "raw"},
    )
    assert response.status_code == 200
    assert response.json()["points"] == [list(p) for p in expected]


def test_read_raw_merges_waiting_and_shipped_readings_once(store, mine, send):
    send(_ch4((0, 0.41), (1, 0.42)), now_ms=NOW_MS)
    store.ship_all()
    send(_ch4((2, 0.43), (3, 0.44)), now_ms=NOW_MS)  # just ingested: still in the outbox
    rows = store.read_raw(mine.ch4.id, NOW_MS - 60_000, NOW_MS - 57_000, 100)
    assert rows == [(NOW_MS - 60_000, 0.41), (NOW_MS - 59_000, 0.42), (NOW_MS - 58_000, 0.43)]  # end excluded
    assert rows.complete


def test_a_resent_batch_is_stored_once_after_shipping(store, mine, send):
    readings = _ch4((0, 0.41), (1, 0.42), (2, 0.43))
    send(readings, now_ms=NOW_MS)
    store.ship_all()
    again = send(readings, now_ms=NOW_MS)  # checked against VictoriaMetrics, not the (empty) outbox
    assert (again.stored, again.duplicates) == (0, 3)
    assert _waiting(mine.ch4) == []
    conflict = send(_ch4((1, 0.99)), now_ms=NOW_MS)
    assert (conflict.stored, dict(conflict.quarantined)) == (0, {"conflict": 1})


def test_a_reading_shipped_twice_is_kept_once(store, mine):
    rows = [(mine.ch4.id, NOW_MS - 5_000, 0.5), (mine.ch4.id, NOW_MS - 4_000, 0.6)]
    for _ in range(2):  # at-least-once shipping: a shipper that died before deleting posts them again
        store.client.import_rows(rows)
        store.client.force_flush()
    assert _in_victoria(store, mine.ch4) == [(ts, v) for _sid, ts, v in rows]


def test_values_and_millisecond_timestamps_come_back_exactly(store, mine):
    values = [0.1, 0.05, 21.25, 99.99, 1234.5678, 0.0, 1.2345678901, 0.0001234, -12.5]
    rows = [(mine.co.id, NOW_MS - 10_000 + i * 7, v) for i, v in enumerate(values)]
    assert store.insert(rows) == len(values)
    store.ship_all()
    assert _in_victoria(store, mine.co) == [(NOW_MS - 10_000 + i * 7, v) for i, v in enumerate(values)]


def test_victoriametrics_down_loses_nothing_and_holds_up_no_alarm(store, victoria, mine, send):
    send(_ch4((0, 0.3)), now_ms=NOW_MS)
    store.ship_all()
    victoria.stop()

    result = send(_ch4((1, 0.4), (2, 1.2), (3, 1.4)), now_ms=NOW_MS)  # ingest commits, the trip is raised
    assert (result.stored, result.alarms_raised) == (3, 1)
    assert Alarm.objects.filter(limit_code="ch4_face_return_trip").count() == 1
    assert SensorState.objects.get(sensor=mine.ch4).last_value == 1.4
    with pytest.raises(VictoriaMetricsUnavailable):
        store.ship()
    assert len(_waiting(mine.ch4)) == 3  # kept for later
    partial = store.read_raw(mine.ch4.id, NOW_MS - 120_000, NOW_MS, 100)
    assert not partial.complete and [v for _ts, v in partial] == [0.4, 1.2, 1.4]  # the gap is said
    unchecked = store.existing([(mine.ch4.id, NOW_MS - 60_000)])  # shipped before: VictoriaMetrics has it
    assert unchecked == {} and not unchecked.complete

    victoria.start()
    assert store.ship_all() == 3
    assert _waiting(mine.ch4) == []
    assert [v for _ts, v in _in_victoria(store, mine.ch4)] == [0.3, 0.4, 1.2, 1.4]
    complete = store.read_raw(mine.ch4.id, NOW_MS - 120_000, NOW_MS, 100)
    assert complete.complete and [v for _ts, v in complete] == [0.3, 0.4, 1.2, 1.4]


def test_history_kept_in_sql_before_the_switch_is_copied_once(store, mine):
    Reading.objects.bulk_create(
        [
            Reading(sensor=sensor, ts=NOW_MS - 30_000 + i, value=i / 4)
            for sensor in (mine.ch4, mine.co)
            for i in range(5)
        ]
    )
    assert history_copy(store, batch=3) == 10
    assert history_copy(store) == 10  # again: deduplicated
    assert _in_victoria(store, mine.co) == [(NOW_MS - 30_000 + i, i / 4) for i in range(5)]
    assert len(store.read_raw(mine.ch4.id, NOW_MS - 60_000, NOW_MS, 100)) == 5


def test_an_unknown_reading_store_is_a_configuration_error():
    env = {**os.environ, "HEADFRAME_READING_STORE": "influx", "HEADFRAME_SECRET_KEY": "x"}
    done = subprocess.run(
        [sys.executable, "-c", "import headframe.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "HEADFRAME_READING_STORE" in done.stderr


def _commit_waiting(count: int) -> list[tuple[int, int, float]]:
    rows = [(900 + i % 7, NOW_MS - 100_000 + i, round(i * 0.01, 2)) for i in range(count)]
    with transaction.atomic():
        outbox.append(rows)
    return rows


@pytest.mark.django_db(transaction=True)
def test_two_shippers_at_once_ship_each_reading_once(configured):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: shippers take disjoint rows with SKIP LOCKED; SQLite has one writer")
    rows = _commit_waiting(3000)
    shipped: list[int] = []

    def ship() -> None:
        try:
            while n := configured.ship(limit=100):
                shipped.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=ship) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    left = configured.ship_all()  # none, unless a thread gave up early
    assert sum(shipped) + left == len(rows) and not ReadingOutbox.objects.exists()  # no row shipped twice
    in_victoria = {sid: configured.client.export(sid, NOW_MS - 100_000, NOW_MS, 5) for sid in range(900, 907)}
    assert sum(len(samples) for samples in in_victoria.values()) == len(rows)


@pytest.mark.django_db(transaction=True)
def test_the_shipper_thread_drains_the_outbox(configured):
    _commit_waiting(500)
    shipper = ensure_shipper()
    assert shipper is not None
    try:
        deadline = time.monotonic() + 20
        while ReadingOutbox.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not ReadingOutbox.objects.exists()
        assert len(configured.client.export(900, NOW_MS - 100_000, NOW_MS, 5)) == len(range(0, 500, 7))
    finally:
        shipper.stop.set()
        shipper.thread.join(timeout=10)
