"""PostgreSQL partitions of the readings: made ahead, rows moved out of the default partition, whole partitions
dropped by retention, a migration that keeps every row, and plans that scan only the asked range's partitions."""

import importlib
import json
import time
from types import SimpleNamespace

import psycopg
import pytest
from django.db import DatabaseError, connection

from headframe.telemetry import services, watchdog
from headframe.telemetry.models import AlarmCondition
from headframe.telemetry.services.ingestion import PRUNE_CHUNK
from headframe.telemetry.storage import partitions
from headframe.telemetry.storage.sql import READ_AGGREGATES_SQL, READ_RAW_SQL, SqlReadingStore, existing_sql

DAY = partitions.DAY_MS
# 2030-03-15 08:00 UTC: far from the partitions the migration made around the real date of the test run.
NOW_MS = 1899792000000
TODAY = NOW_MS - NOW_MS % DAY
migration = importlib.import_module("headframe.telemetry.migrations.0009_partitioned_readings")


@pytest.fixture
def pg(db):
    if connection.vendor != "postgresql":
        pytest.skip("partitions exist on PostgreSQL only; SQLite keeps plain tables")


def _store(rows):
    store = SqlReadingStore()
    store.insert(rows)
    store.add_to_aggregates(rows)


def _where(table, **match):
    """The partition each matching row sits in."""
    cond = " AND ".join(f"{k} = %s" for k in match)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE {cond}", list(match.values()))
        return [r[0] for r in cursor.fetchall()]


def _scanned(sql, params):
    """The tables a statement's plan reads."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found, todo = set(), [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        if "Relation Name" in node:
            found.add(node["Relation Name"])
        todo.extend(node.get("Plans", []))
    return found


def _all_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT sensor_id, ts, value FROM telemetry_reading ORDER BY 1, 2")
        raw = cursor.fetchall()
        cursor.execute("SELECT * FROM telemetry_readingaggregate ORDER BY sensor_id, step, bucket")
        return raw, cursor.fetchall()


def test_without_partitions_ensure_does_nothing(db):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    assert partitions.partitions_ensure(now_ms=NOW_MS) == []


def test_ensure_creates_partitions_ahead_once(pg):
    created = partitions.partitions_ensure(days_ahead=3, now_ms=NOW_MS)
    assert created == [
        "telemetry_reading_p20300315",
        "telemetry_reading_p20300316",
        "telemetry_reading_p20300317",
        "telemetry_reading_p20300318",
        "telemetry_readingaggregate_1m_p203003",
    ]
    assert partitions.partitions_ensure(days_ahead=3, now_ms=NOW_MS) == []
    names = [p.name for p in partitions.partitions_list(partitions.RAW)]
    assert names[-4:] == created[:4]


@pytest.fixture
def other_session(pg):
    """A second connection to the test database, as another process would hold one."""
    params = connection.settings_dict
    other = psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname=params["NAME"]
    )
    yield other
    other.close()


def test_ensure_leaves_the_work_to_a_process_holding_the_lock(other_session):
    other_session.execute("SELECT pg_advisory_lock(%s)", [partitions.MAINTENANCE_LOCK])
    assert partitions.partitions_ensure(days_ahead=1, now_ms=NOW_MS) == []
    other_session.execute("SELECT pg_advisory_unlock(%s)", [partitions.MAINTENANCE_LOCK])
    assert "telemetry_reading_p20300315" in partitions.partitions_ensure(days_ahead=1, now_ms=NOW_MS)


def test_maintenance_that_cannot_get_its_lock_holds_no_alarm_back(
    mine, send, other_session, settings, monkeypatch
):
    monkeypatch.setattr(watchdog, "_last_maintenance", [None])  # maintenance is due on this tick
    settings.TELEMETRY_PARTITION_DAYS_AHEAD = 60  # partitions to make: it needs the default partition's lock
    before = partitions.partitions_list(partitions.RAW)
    long_ago = int(time.time() * 1000) - 120_000  # period 10 s: silent for 12 periods
    send([("A1-CH4-01", long_ago, 0.3)], now_ms=long_ago + 1000)
    other_session.execute("LOCK TABLE telemetry_reading_default IN ACCESS SHARE MODE")  # a long read

    raised, _ = watchdog.watchdog_tick()  # maintenance waits LOCK_TIMEOUT, then is postponed

    other_session.rollback()
    assert raised == 1
    assert AlarmCondition.objects.get(sensor=mine.ch4, limit_code="stale").active
    assert partitions.partitions_list(partitions.RAW) == before


def test_a_drop_that_cannot_get_its_lock_keeps_the_drops_before_it(other_session):
    # The partitions the migration made (committed, so the other session sees them): today's and tomorrow's.
    first, second = [
        p for p in partitions.partitions_list(partitions.RAW) if p.name != partitions.RAW.legacy
    ][:2]
    other_session.execute(f"LOCK TABLE {second.name} IN ACCESS SHARE MODE")  # a long read of the second day

    with pytest.raises(DatabaseError):  # the lock timeout, after the first partition went
        partitions.partitions_drop_older(partitions.RAW, second.end_ms)

    other_session.rollback()
    names = [p.name for p in partitions.partitions_list(partitions.RAW)]
    assert first.name not in names and second.name in names
    assert partitions.partitions_drop_older(partitions.RAW, second.end_ms) == [second.name]


def test_reading_of_a_day_without_partition_waits_in_default_then_moves(mine, pg):
    sid = mine.ch4.id
    _store([(sid, NOW_MS, 0.4), (sid, NOW_MS + 1000, 0.5)])
    assert _where("telemetry_reading", sensor_id=sid) == ["telemetry_reading_default"] * 2
    assert _where("telemetry_readingaggregate", sensor_id=sid, step="1m") == [
        "telemetry_readingaggregate_1m_default"
    ]

    partitions.partitions_ensure(days_ahead=0, now_ms=NOW_MS)

    assert _where("telemetry_reading", sensor_id=sid) == ["telemetry_reading_p20300315"] * 2
    assert _where("telemetry_readingaggregate", sensor_id=sid, step="1m") == [
        "telemetry_readingaggregate_1m_p203003"
    ]
    assert _where("telemetry_readingaggregate", sensor_id=sid, step="1h") == ["telemetry_readingaggregate_1h"]
    assert SqlReadingStore().read_raw(sid, TODAY, TODAY + DAY, 10) == [(NOW_MS, 0.4), (NOW_MS + 1000, 0.5)]


def test_default_rows_past_retention_stay_there_for_the_prune(mine, pg, settings):
    settings.TELEMETRY_RETENTION_RAW_DAYS = 3
    _store([(mine.ch4.id, NOW_MS - 5 * DAY, 0.4)])
    assert "telemetry_reading_p20300310" not in partitions.partitions_ensure(days_ahead=0, now_ms=NOW_MS)
    assert services.readings_prune(now_ms=NOW_MS)["raw"] == 1


def test_ingest_copies_into_partitions_and_skips_duplicates(mine, pg):
    partitions.partitions_ensure(days_ahead=1, now_ms=NOW_MS)
    sid, store = mine.ch4.id, SqlReadingStore()
    assert store.insert([(sid, NOW_MS, 0.1), (sid, NOW_MS + DAY, 0.2)]) == 2
    assert (
        store.insert([(sid, NOW_MS, 0.1), (sid, NOW_MS + 5000, 0.3)]) == 1
    )  # the staging table's ON CONFLICT
    assert sorted(_where("telemetry_reading", sensor_id=sid)) == [
        "telemetry_reading_p20300315",
        "telemetry_reading_p20300315",
        "telemetry_reading_p20300316",
    ]


def test_retention_drops_partitions_wholly_past_the_cutoff(mine, pg, settings):
    settings.TELEMETRY_RETENTION_RAW_DAYS = 3
    settings.TELEMETRY_RETENTION_MINUTE_DAYS = 20
    sid = mine.ch4.id
    _store([(sid, NOW_MS - d * DAY, float(d)) for d in range(60)])  # back to 2030-01-14
    # Ten days before: partitions for 2030-03-02 .. 03-15, and for February and March minutes.
    partitions.partitions_ensure(days_ahead=10, now_ms=NOW_MS - 10 * DAY)

    pruned = services.readings_prune(now_ms=NOW_MS)

    # Raw cutoff 2030-03-12 08:00: the days up to the 11th go whole, the 12th straddles the cutoff and stays.
    days = [p.name for p in partitions.partitions_list(partitions.RAW)]
    assert "telemetry_reading_p20300312" in days and "telemetry_reading_p20300311" not in days
    assert pruned["raw_partitions"] >= 9  # 2030-03-02 .. 03-11
    assert sorted(v for _ts, v in SqlReadingStore().read_raw(sid, 0, NOW_MS + 1, 100)) == [0, 1, 2, 3]
    # Minute cutoff 2030-02-23: February straddles it and stays whole; January's rows (in the default) go.
    months = [p.name for p in partitions.partitions_list(partitions.MINUTE)]
    assert "telemetry_readingaggregate_1m_p203002" in months
    minutes = SqlReadingStore().read_aggregates(sid, "1m", 0, NOW_MS + 1)
    assert (
        min(bucket for bucket, *_ in minutes) == NOW_MS - 42 * DAY
    )  # 2030-02-01 08:00, the first of February

    later = services.readings_prune(now_ms=NOW_MS + 40 * DAY)
    assert SqlReadingStore().read_raw(sid, 0, NOW_MS + 1, 100) == []
    assert later["raw"] == 0 and later["raw_partitions"] >= 4
    months = [p.name for p in partitions.partitions_list(partitions.MINUTE)]
    assert "telemetry_readingaggregate_1m_p203002" not in months
    assert len(SqlReadingStore().read_aggregates(sid, "1h", 0, NOW_MS + 1)) == 60  # hours are kept


def test_plans_scan_only_the_partitions_of_the_asked_range(mine, pg):
    partitions.partitions_ensure(days_ahead=2, now_ms=NOW_MS)
    sid = mine.ch4.id
    _store([(sid, NOW_MS + d * DAY, 1.0) for d in range(3)])

    assert _scanned(READ_RAW_SQL, [sid, TODAY, TODAY + DAY, 100]) == {"telemetry_reading_p20300315"}
    assert _scanned(READ_RAW_SQL, [sid, NOW_MS, NOW_MS + DAY, 100]) == {
        "telemetry_reading_p20300315",
        "telemetry_reading_p20300316",
    }
    assert _scanned(existing_sql(2), [sid, NOW_MS, NOW_MS + 2 * DAY]) == {
        "telemetry_reading_p20300315",
        "telemetry_reading_p20300317",
    }
    assert _scanned(READ_AGGREGATES_SQL, [sid, "1m", TODAY, TODAY + DAY]) == {
        "telemetry_readingaggregate_1m_p203003"
    }
    assert _scanned(READ_AGGREGATES_SQL, [sid, "1h", TODAY, TODAY + DAY]) == {"telemetry_readingaggregate_1h"}
    raw_thin = partitions.thin_chunk_sql(partitions.RAW, partitions.RAW.default, PRUNE_CHUNK)
    assert _scanned(raw_thin, [NOW_MS - 90 * DAY]) == {"telemetry_reading_default"}
    minute = partitions.MINUTE
    minute_thin = partitions.thin_chunk_sql(minute, minute.default, PRUNE_CHUNK)
    assert _scanned(minute_thin, [NOW_MS - 400 * DAY]) == {"telemetry_readingaggregate_1m_default"}


def _count_and_sum():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), sum(value) FROM telemetry_reading")
        return cursor.fetchone()


def _files(*tables):
    """The data file of each table: the same file before and after means its rows were not copied."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(pg_relation_filenode(to_regclass(t))) FROM unnest(%s::text[]) t", [list(tables)]
        )
        return cursor.fetchone()[0]


def _migrate_again():
    """Undo migration 0009 (plain tables, rows copied back) and apply it again, as on a database that had
    readings before it. Returns the data files of the plain tables before migrating."""
    editor = SimpleNamespace(connection=connection)
    migration.unpartition(None, editor)
    assert not partitions.partitioned()
    plain = _files("telemetry_reading", "telemetry_readingaggregate")
    migration.partition(None, editor)
    assert partitions.partitioned()
    return plain


def test_migration_attaches_existing_rows_as_one_legacy_partition(mine, pg, settings):
    now = int(time.time() * 1000)
    today = now - now % DAY
    sid = mine.ch4.id
    _store([(sid, now - d * DAY + i * 1000, d + i / 10) for d in (0, 1, 2, 200) for i in range(5)])
    before, count_sum = _all_rows(), _count_and_sum()

    plain = _migrate_again()

    assert _all_rows() == before and _count_and_sum() == count_sum
    assert _files("telemetry_reading_legacy", "telemetry_readingaggregate_1m_legacy") == plain  # not copied
    oldest = now - 200 * DAY
    legacy = [p for p in partitions.partitions_list(partitions.RAW) if p.name == "telemetry_reading_legacy"]
    # To the end of the day after today: room for what ingest writes while the migration checks the bounds.
    assert legacy == [
        partitions.Partition("telemetry_reading_legacy", oldest - oldest % DAY, today + 2 * DAY)
    ]
    assert set(_where("telemetry_reading", sensor_id=sid)) == {"telemetry_reading_legacy"}
    assert set(_where("telemetry_readingaggregate", sensor_id=sid, step="1m")) == {
        "telemetry_readingaggregate_1m_legacy"
    }
    assert set(_where("telemetry_readingaggregate", sensor_id=sid, step="1h")) == {
        "telemetry_readingaggregate_1h"
    }
    assert partitions.partitions_ensure(days_ahead=0, now_ms=now) == []  # today is the legacy partition's

    first_new = today + 2 * DAY  # the first day after the legacy partition
    _store([(sid, first_new + 1000, 9.0)])
    assert _where("telemetry_reading", sensor_id=sid, ts=first_new + 1000) == [partitions.RAW.name(first_new)]
    assert _scanned(READ_RAW_SQL, [sid, today - 2 * DAY, today - DAY, 100]) == {"telemetry_reading_legacy"}
    assert _scanned(READ_RAW_SQL, [sid, first_new, first_new + DAY, 100]) == {partitions.RAW.name(first_new)}
    legacy_thin = partitions.thin_chunk_sql(partitions.RAW, "telemetry_reading_legacy", PRUNE_CHUNK)
    assert _scanned(legacy_thin, [now - 90 * DAY]) == {"telemetry_reading_legacy"}

    settings.TELEMETRY_RETENTION_RAW_DAYS = 100  # the 200-day-old readings go, row by row
    settings.TELEMETRY_RETENTION_MINUTE_DAYS = 100
    old_minutes = {(oldest + i * 1000) // 60_000 for i in range(5)}
    thinned = services.readings_prune(now_ms=now)
    assert (thinned["raw"], thinned["raw_partitions"]) == (5, 0)
    assert (thinned["1m"], thinned["1m_partitions"]) == (len(old_minutes), 0)
    assert _count_and_sum()[0] == count_sum[0] - 5 + 1
    assert "telemetry_reading_legacy" in [p.name for p in partitions.partitions_list(partitions.RAW)]

    settings.TELEMETRY_RETENTION_RAW_DAYS = 1  # all of the legacy range is past: it goes whole
    dropped = services.readings_prune(now_ms=now + 3 * DAY)
    assert dropped["raw"] == 0 and dropped["raw_partitions"] >= 1
    assert "telemetry_reading_legacy" not in [p.name for p in partitions.partitions_list(partitions.RAW)]
    assert SqlReadingStore().read_raw(sid, 0, now + 4 * DAY, 100) == [(first_new + 1000, 9.0)]


def test_migration_moves_the_hours_out_before_its_lock_and_ingest_goes_on(mine, pg):
    now = int(time.time() * 1000)
    hour, sid = now - now % 3_600_000, mine.ch4.id
    _store([(sid, hour + 1, 1.0), (sid, hour + 1 - 30 * DAY, 1.0)])
    editor = SimpleNamespace(connection=connection)
    migration.unpartition(None, editor)
    store = SqlReadingStore()

    minute_bounds = migration._hours_out(connection, now)

    # Before the lock: the old table holds minutes only, proven by a validated check (the ATTACH reads nothing),
    # and its reads still see every hour once; ingest's hours are merged where the hours went.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ONLY telemetry_readingaggregate WHERE step <> '1m'")
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = %s "
            "AND conrelid = 'telemetry_readingaggregate'::regclass",
            [migration.BOUNDS_CHECK],
        )
        assert cursor.fetchone()[0] is True
    _store([(sid, hour + 2, 3.0)])
    hours = store.read_aggregates(sid, "1h", 0, now + DAY)
    assert [(bucket, low, high, count) for bucket, low, high, _avg, count, _last in hours] == [
        (hour - 30 * DAY, 1.0, 1.0, 1),
        (hour, 1.0, 3.0, 2),
    ]

    migration._locked_step(connection, None, minute_bounds, now, now + DAY)

    assert partitions.partitioned()
    assert store.read_aggregates(sid, "1h", 0, now + DAY) == hours
    assert set(_where("telemetry_readingaggregate", sensor_id=sid, step="1h")) == {
        "telemetry_readingaggregate_1h"
    }
    assert set(_where("telemetry_readingaggregate", sensor_id=sid, step="1m")) == {
        "telemetry_readingaggregate_1m_legacy"
    }


def test_migration_of_a_database_without_readings_makes_no_legacy_partition(pg):
    _migrate_again()
    names = [p.name for layout in partitions.LAYOUTS for p in partitions.partitions_list(layout)]
    assert names and not any(name.endswith("_legacy") for name in names)


def test_migration_that_fails_leaves_no_bounds_check_on_the_readings(mine, pg):
    now = int(time.time() * 1000)
    sid = mine.ch4.id
    _store([(sid, now, 1.0)])
    editor = SimpleNamespace(connection=connection)
    migration.unpartition(None, editor)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE telemetry_reading_default (x int)"
        )  # the locked step cannot make its own

    with pytest.raises(DatabaseError):
        migration.partition(None, editor)

    assert not partitions.partitioned()
    far = now + 30 * DAY  # beyond the bounds the checks had: the plain tables take it again
    _store([(sid, far, 2.0)])
    assert _count_and_sum() == (2, 3.0)
    # The hours are back in the plain table, which no trigger diverts any more.
    assert len(SqlReadingStore().read_aggregates(sid, "1h", 0, far + DAY)) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('telemetry_readingaggregate_1h')")
        assert cursor.fetchone()[0] is None


def _fillfactor(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)", [table])
        options = cursor.fetchone()[0] or []
    return dict(o.split("=", 1) for o in options).get("fillfactor")


def test_tables_rewritten_by_every_flush_leave_room_on_their_pages_and_new_partitions_too(pg):
    """Every flush rewrites its sensors' live state and their minute and hour aggregates: with room on the page the
    rewrite is a HOT update (no new index entry). Raw readings are written once and fill their pages."""
    for table in (
        "telemetry_sensorstate",
        "telemetry_readingaggregate_1h",
        "telemetry_readingaggregate_1m_default",
        "telemetry_readingaggregate_default",
    ):
        assert _fillfactor(table) == "70", table
    partitions.partitions_ensure(days_ahead=0, now_ms=NOW_MS)
    assert _fillfactor("telemetry_readingaggregate_1m_p203003") == "70"
    assert _fillfactor("telemetry_reading_p20300315") is None
