"""Raw readings in VictoriaMetrics (the real binary, started here): written through the SQL outbox in the ingest
transaction, shipped in batches, read back merged with what still waits; a store that is down loses nothing and
never holds up ingest or alarms."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from django.db import connection, transaction

from headframe.cli import main as headframe_main
from headframe.telemetry import selectors
from headframe.telemetry.models import (
    Alarm,
    GatewayCounter,
    Quarantine,
    Reading,
    ReadingAggregate,
    ReadingOutbox,
    SensorState,
)
from headframe.telemetry.services import rise_windows
from headframe.telemetry.storage import (
    VictoriaMetricsReadingStore,
    VictoriaMetricsUnavailable,
    ensure_shipper,
    history_copy,
    outbox,
    reading_store,
)
from headframe.telemetry.storage.victoria import RESTART_SLACK_MS, history_tables
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
    """The readings of a sensor not yet shipped."""
    waiting = ReadingOutbox.objects.filter(sensor=sensor, shipped_at__isnull=True)
    return list(waiting.order_by("ts").values_list("ts", "value"))


def _settled() -> None:
    """What `purge_shipped` does KEEP_SHIPPED_MS after shipping: the shipped readings are then only in
    VictoriaMetrics."""
    ReadingOutbox.objects.filter(shipped_at__isnull=False).delete()


def _unshipped() -> bool:
    return ReadingOutbox.objects.filter(shipped_at__isnull=True).exists()


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
    _settled()
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
    # Rows shipped within RESTART_SLACK_MS of the store's start are shipped again by design (they may predate a
    # restart): begin once the fresh store is past that, so every re-ship counted below is a defect.
    settled = configured.client.started_at_ms() + RESTART_SLACK_MS
    deadline = time.monotonic() + 10
    while time.time() * 1000 <= settled and time.monotonic() < deadline:
        time.sleep(0.1)
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
    assert sum(shipped) + left == len(rows) and not _unshipped()  # no row shipped twice
    in_victoria = {sid: configured.client.export(sid, NOW_MS - 100_000, NOW_MS, 5) for sid in range(900, 907)}
    assert sum(len(samples) for samples in in_victoria.values()) == len(rows)


@pytest.mark.django_db(transaction=True)
def test_the_shipper_thread_drains_the_outbox(configured):
    _commit_waiting(500)
    shipper = ensure_shipper()
    assert shipper is not None
    try:
        deadline = time.monotonic() + 20
        while _unshipped() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _unshipped()
        assert len(configured.client.export(900, NOW_MS - 100_000, NOW_MS, 5)) == len(range(0, 500, 7))
    finally:
        shipper.stop.set()
        shipper.thread.join(timeout=10)


# ---------------------------------------------------------------- a shipped reading leaves the outbox once on disk


def _running_a_while(store) -> None:
    """Wait (bounded) until the store started longer ago than its restart check's slack, so what is shipped now
    counts as shipped to this run of it."""
    deadline = time.monotonic() + 10
    while time.time() * 1000 < store.client.started_at_ms() + RESTART_SLACK_MS + 1000:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_shipped_reading_stays_in_the_outbox_until_it_settled(store, mine, send, monkeypatch):
    _running_a_while(store)
    send(_ch4((0, 0.41), (1, 0.42)), now_ms=NOW_MS)
    assert store.ship_all() == 2
    assert _waiting(mine.ch4) == [] and ReadingOutbox.objects.count() == 2  # shipped, kept a while
    assert store.existing([(mine.ch4.id, NOW_MS - 60_000)]) == {(mine.ch4.id, NOW_MS - 60_000): 0.41}
    assert [v for _ts, v in store.read_raw(mine.ch4.id, NOW_MS - 120_000, NOW_MS, 100)] == [0.41, 0.42]
    store._next_settle = 0.0
    store.ship()
    assert ReadingOutbox.objects.count() == 2  # shipped just now: maybe not on VictoriaMetrics' disk yet

    monkeypatch.setattr(outbox, "KEEP_SHIPPED_MS", -1_000)  # as if shipped long enough ago
    store._next_settle = 0.0
    assert store.ship() == 0
    assert not ReadingOutbox.objects.exists()
    assert [v for _ts, v in _in_victoria(store, mine.ch4)] == [0.41, 0.42]


def test_readings_shipped_just_before_victoriametrics_crashed_are_shipped_again(store, victoria, mine, send):
    send(_ch4((0, 0.41), (1, 0.42), (2, 0.43)), now_ms=NOW_MS)
    assert store.ship_all() == 3  # searchable, not yet on disk
    victoria.kill()
    victoria.start()
    store._next_settle = 0.0  # the shipper's next settle: it sees the restart
    assert store.ship_all() == 3
    assert [v for _ts, v in _in_victoria(store, mine.ch4)] == [0.41, 0.42, 0.43]
    assert _waiting(mine.ch4) == []


def test_the_backlog_is_counted_up_to_a_bound_then_estimated(store, mine):
    rows = [(mine.ch4.id, NOW_MS - 50_000 + i * 1000, 0.4) for i in range(50)]
    store.insert(rows)
    assert tuple(outbox.backlog(exact_up_to=100)) == (50, NOW_MS - 50_000, True)
    estimated = outbox.backlog(exact_up_to=10)  # never a full count of a long outbox
    assert estimated.waiting > 10 and estimated.oldest_ts == NOW_MS - 50_000 and not estimated.exact
    store.ship_all()
    assert tuple(outbox.backlog()) == (0, None, True)  # shipped readings kept a while are not waiting


# ---------------------------------------------------------------- fail safe while VictoriaMetrics is down


@pytest.fixture
def silent_store(settings, mine):
    """A VictoriaMetrics address that takes connections and never answers (a store that drops packets)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # connections complete in the kernel; nothing ever reads or answers them
        settings.READING_STORE = "victoriametrics"
        settings.VICTORIAMETRICS_URL = f"http://127.0.0.1:{listener.getsockname()[1]}"
        yield reading_store()


def test_a_store_that_never_answers_holds_up_neither_late_readings_nor_a_rise(silent_store, mine, send):
    send(_ch4((0, 0.3), (2, 0.3)), now_ms=NOW_MS)
    late = send(_ch4((1, 1.6)), now_ms=NOW_MS)  # its duplicate check cannot reach the store
    assert dict(late.quarantined) == {"unchecked": 1}
    assert Alarm.objects.get(limit_code="ch4_face_return_trip").raised_value == 1.6
    silent_store.client._down_until = 0.0  # ask it again: the rise window's read times out too
    start = NOW_MS - 12 * 60_000
    send([("A1-CO-01", start + m * 60_000, 2.0) for m in range(3)], now_ms=NOW_MS)
    rise_windows.clear()
    silent_store.client._down_until = 0.0
    rise = send([("A1-CO-01", NOW_MS - 60_000, 7.5)], now_ms=NOW_MS)
    assert rise.alarms_raised == 1


def test_a_co_rise_trips_with_victoriametrics_down_though_the_window_start_was_shipped(
    store, victoria, mine, send
):
    start = NOW_MS - 12 * 60_000
    send([("A1-CO-01", start + m * 60_000, 2.0) for m in range(3)], now_ms=NOW_MS)  # background CO
    store.ship_all()  # the early part of the 15-minute window is now only in VictoriaMetrics
    _settled()
    rise_windows.clear()  # as an ingest process that starts (or restarts) now
    victoria.stop()

    result = send([("A1-CO-01", NOW_MS - 60_000, 7.5)], now_ms=NOW_MS)  # +5.5 ppm within the window
    assert result.alarms_raised == 1
    assert Alarm.objects.get(limit_code="co_rate_of_rise").raised_value == 7.5


def test_a_late_resend_with_victoriametrics_down_is_quarantined_unchecked_never_overwriting(
    store, victoria, mine, send
):
    send(_ch4((0, 0.41), (1, 0.42), (2, 0.43)), now_ms=NOW_MS)
    store.ship_all()
    _settled()
    victoria.stop()

    resent = send(_ch4((1, 0.99), (2, 0.43)), now_ms=NOW_MS)  # a conflict and a duplicate: neither checkable
    assert (resent.stored, dict(resent.quarantined)) == (0, {"unchecked": 2})
    assert _waiting(mine.ch4) == []  # nothing queued to overwrite VictoriaMetrics
    kept = Quarantine.objects.filter(reason="unchecked").order_by("ts_raw")
    assert [(q.sensor_code, q.value_raw) for q in kept] == [("A1-CH4-01", "0.99"), ("A1-CH4-01", "0.43")]
    assert GatewayCounter.objects.get(gateway_code="GW-A1", outcome="unchecked").count == 2

    victoria.start()
    store.client._down_until = 0.0  # ask it at once, not after the client's pause
    assert _in_victoria(store, mine.ch4)[1] == (NOW_MS - 59_000, 0.42)  # history as it was
    again = send(_ch4((1, 0.99)), now_ms=NOW_MS)  # sent again once the store is back: checked
    assert dict(again.quarantined) == {"conflict": 1}


def test_an_unchecked_late_value_over_the_trip_still_raises_its_late_alarm(store, victoria, mine, send):
    send(_ch4((0, 0.3), (2, 0.3)), now_ms=NOW_MS)
    store.ship_all()
    _settled()
    victoria.stop()
    late = send(_ch4((1, 1.6)), now_ms=NOW_MS)  # older than the newest stored: may be a re-send, may be new
    assert dict(late.quarantined) == {"unchecked": 1}
    alarm = Alarm.objects.get(limit_code="ch4_face_return_trip")
    assert alarm.raised_value == 1.6 and alarm.returned_at is not None  # late: already over, to acknowledge


def _history(api, users, sensor="A1-CH4-01", step="raw"):
    start = dt.datetime.fromtimestamp((NOW_MS - 120_000) / 1000, tz=dt.UTC)
    end = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC)
    response = api(users.admin_a).get(
        f"/api/v1/telemetry/sensors/{sensor}/readings",
        **{"from": start.isoformat(), "to": end.isoformat(), "step": step},
    )
    assert response.status_code == 200
    return response.json()


def test_the_history_api_says_when_raw_readings_are_missing(store, victoria, mine, send, api, users):
    send(_ch4((0, 0.41)), now_ms=NOW_MS)
    store.ship_all()
    _settled()
    send(_ch4((1, 0.42)), now_ms=NOW_MS)
    assert _history(api, users)["complete"] is True
    victoria.stop()
    partial = _history(api, users)
    assert partial["complete"] is False and partial["points"] == [[NOW_MS - 59_000, 0.42]]
    assert _history(api, users, step="1m")["complete"] is True  # aggregates are in SQL


def test_the_history_page_carries_the_vietnamese_gap_message(client, store, mine, users):
    client.force_login(users.admin_a)
    html = client.get("/telemetry/sensor/A1-CH4-01/").content.decode()
    notice = html.split('data-testid="history-incomplete"')[1].split("</p>")[0]
    assert (
        " hidden>" in notice and "Kho lưu giá trị đo gốc đang không phản hồi" in notice
    )  # history.js shows it


# ---------------------------------------------------------------- old raw history: the copy command


def _old_readings(mine) -> list[tuple[int, int, float]]:
    """Readings of yesterday and today (two day partitions, or the default one, on partitioned PostgreSQL)."""
    day = 86_400_000
    rows = [
        (sensor.id, NOW_MS - back - 30_000 + i, i / 4)
        for back in (day, 0)
        for sensor in (mine.ch4, mine.co)
        for i in range(5)
    ]
    Reading.objects.bulk_create([Reading(sensor_id=sid, ts=ts, value=v) for sid, ts, v in rows])
    return rows


def test_the_copy_command_copies_old_sql_readings_and_prints_progress(store, mine, capsys):
    rows = _old_readings(mine)
    assert headframe_main(["readings-to-victoriametrics", "--batch", "3"]) == 0
    out = capsys.readouterr().out
    assert f"{len(rows)} readings copied to VictoriaMetrics" in out and ": done" in out
    day = 86_400_000
    copied = _in_victoria(store, mine.co, NOW_MS - day - 60_000, NOW_MS)
    assert copied == sorted((ts, v) for sid, ts, v in rows if sid == mine.co.id)


def test_the_copy_resumes_from_a_printed_point(store, mine):
    rows = _old_readings(mine)
    points = []
    history_copy(store, batch=4, progress=points.append)
    assert points[-1].copied == len(rows) and points[-1].done
    middle = points[1]  # after the second batch
    left = history_copy(store, batch=4, after=middle.resume)
    assert left == len(rows) - middle.copied
    tables = history_tables()
    if connection.vendor == "postgresql":  # one partition after the other, never the whole parent
        assert "telemetry_reading" not in tables and {p.table for p in points} <= set(tables)
    with pytest.raises(ValueError):
        history_copy(store, after="telemetry_reading_p19700101:1:1")
