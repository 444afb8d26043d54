"""PostgreSQL: raw readings and reading aggregates become partitioned tables (the layout is described and kept up
by `headframe.telemetry.storage.partitions`; this migration is history and carries its own copy of the little it
needs). Django's model state does not change: partitioning is physical. SQLite: nothing to do.

The existing rows are not copied: a mine's 90 days of raw readings are billions of rows, hours of downtime to copy
(~5 s per million here). Each old table is renamed `<parent>_legacy` and ATTACHed whole as one partition covering
[its oldest row's UTC day (month), the end of its newest row's day (month)); new days (months) get partitions from
there on, plus a default. Before the ATTACH a CHECK constraint of the same bounds is added NOT VALID and then
validated: a read-only scan that lets the ATTACH skip its own (the same cost as letting the ATTACH check, measured
on 1 M rows, but the check is kept in this migration's own name and is dropped once attached). The old primary
key index stays the legacy partition's part of the new one: nothing is rebuilt.

Retention thins the legacy partition row by row (in chunks) while it straddles the cutoff and drops it whole once
all of its range is past (`readings_prune`).

Aggregates: the old table holds both steps, so its few '1h' rows (1/60 of the '1m' rows) are copied to the '1h'
partition and deleted from it, and what remains — the '1m' rows — is attached as the legacy partition of the
minute table, by month. Reverse: plain tables again, every row copied back (rare, and correct for any state)."""

import datetime as dt
import time

from django.conf import settings
from django.db import migrations

DAY_MS = 86_400_000
TABLES = {  # table: primary key
    "telemetry_reading": "sensor_id, ts",
    "telemetry_readingaggregate": "sensor_id, step, bucket",
}
BOUNDS_CHECK = "headframe_0009_legacy_bounds"


def _edge(cursor, table: str, column: str, fn: str, where: str = "") -> int | None:
    """min or max (`fn`) of `column`: a loose index scan of the (sensor, …) primary key — two probes per sensor —
    instead of reading the whole table."""
    cursor.execute(
        f"WITH RECURSIVE sensors AS (SELECT min(sensor_id) AS id FROM {table} UNION ALL "
        f"SELECT (SELECT min(sensor_id) FROM {table} WHERE sensor_id > sensors.id) FROM sensors "
        "WHERE sensors.id IS NOT NULL) "
        f"SELECT {fn}((SELECT {fn}({column}) FROM {table} r WHERE r.sensor_id = sensors.id {where})) FROM sensors"
    )
    return cursor.fetchone()[0]


def _day(ms: int) -> tuple[str, int, int]:
    start = ms - ms % DAY_MS
    return f"{dt.datetime.fromtimestamp(start // 1000, dt.UTC):%Y%m%d}", start, start + DAY_MS


def _month(ms: int) -> tuple[str, int, int]:
    day = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    first = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)
    after = dt.datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=dt.UTC)
    return f"{first:%Y%m}", int(first.timestamp()) * 1000, int(after.timestamp()) * 1000


def _spans(span, start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """(name suffix, start, end) of the days or months (`span`) from the one holding start_ms until end_ms."""
    spans, at = [], start_ms
    while at < end_ms:
        spans.append(span(at))
        at = spans[-1][2]
    return spans


def _attach_legacy(cursor, parent: str, column: str, span, where: str = "", check: str = "") -> int | None:
    """ATTACH `<parent>_legacy` (the old rows) to `parent` over the days/months of its rows, or drop it when it
    holds none. Returns where the new partitions start (None: no legacy partition)."""
    legacy = f"{parent}_legacy"
    oldest = _edge(cursor, legacy, column, "min", where)
    if oldest is None:
        cursor.execute(f"DROP TABLE {legacy}")
        return None
    low, high = span(oldest)[1], span(_edge(cursor, legacy, column, "max", where))[2]
    cursor.execute(
        f"ALTER TABLE {legacy} ADD CONSTRAINT {BOUNDS_CHECK} "
        f"CHECK ({check}{column} >= {low} AND {column} < {high}) NOT VALID"
    )
    cursor.execute(f"ALTER TABLE {legacy} VALIDATE CONSTRAINT {BOUNDS_CHECK}")
    cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {legacy} FOR VALUES FROM ({low}) TO ({high})")
    cursor.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {BOUNDS_CHECK}")  # the partition bound says it now
    return high


def _rename_to_legacy(cursor, table: str, legacy: str) -> None:
    cursor.execute(f"ALTER TABLE {table} RENAME TO {legacy}")
    cursor.execute(f"ALTER INDEX {table}_pkey RENAME TO {legacy}_pkey")


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('telemetry_reading')")
        if cursor.fetchone()[0] == "p":
            return
        now_ms = int(time.time() * 1000)
        ahead_ms = now_ms + getattr(settings, "TELEMETRY_PARTITION_DAYS_AHEAD", 7) * DAY_MS

        _rename_to_legacy(cursor, "telemetry_reading", "telemetry_reading_legacy")
        for statement in (
            "CREATE TABLE telemetry_reading (LIKE telemetry_reading_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (ts)",
            "ALTER TABLE telemetry_reading ADD CONSTRAINT telemetry_reading_pkey PRIMARY KEY (sensor_id, ts)",
            "CREATE TABLE telemetry_reading_default PARTITION OF telemetry_reading DEFAULT",
        ):
            cursor.execute(statement)
        raw_from = max(
            _attach_legacy(cursor, "telemetry_reading", "ts", _day) or now_ms, now_ms - now_ms % DAY_MS
        )
        for name, start, end in _spans(_day, raw_from, ahead_ms):
            cursor.execute(
                f"CREATE TABLE telemetry_reading_p{name} PARTITION OF telemetry_reading "
                f"FOR VALUES FROM ({start}) TO ({end})"
            )

        old = "telemetry_readingaggregate_1m_legacy"
        _rename_to_legacy(cursor, "telemetry_readingaggregate", old)
        for statement in (
            f"CREATE TABLE telemetry_readingaggregate (LIKE {old} INCLUDING DEFAULTS) PARTITION BY LIST (step)",
            "ALTER TABLE telemetry_readingaggregate ADD CONSTRAINT telemetry_readingaggregate_pkey "
            "PRIMARY KEY (sensor_id, step, bucket)",
            "CREATE TABLE telemetry_readingaggregate_1h PARTITION OF telemetry_readingaggregate FOR VALUES IN ('1h')",
            "CREATE TABLE telemetry_readingaggregate_1m PARTITION OF telemetry_readingaggregate "
            "FOR VALUES IN ('1m') PARTITION BY RANGE (bucket)",
            "CREATE TABLE telemetry_readingaggregate_1m_default PARTITION OF telemetry_readingaggregate_1m DEFAULT",
            "CREATE TABLE telemetry_readingaggregate_default PARTITION OF telemetry_readingaggregate DEFAULT",
            # Hours (and any other step) are copied out: the legacy partition may hold minutes only.
            f"INSERT INTO telemetry_readingaggregate SELECT * FROM {old} WHERE step <> '1m'",
            f"DELETE FROM {old} WHERE step <> '1m'",
        ):
            cursor.execute(statement)
        minute_from = _attach_legacy(
            cursor, "telemetry_readingaggregate_1m", "bucket", _month, "AND step = '1m'", "step = '1m' AND "
        )
        for name, start, end in _spans(_month, max(minute_from or now_ms, now_ms), ahead_ms):
            cursor.execute(
                f"CREATE TABLE telemetry_readingaggregate_1m_p{name} PARTITION OF telemetry_readingaggregate_1m "
                f"FOR VALUES FROM ({start}) TO ({end})"
            )
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")


def unpartition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('telemetry_reading')")
        if cursor.fetchone()[0] != "p":
            return
        for table, key in TABLES.items():
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
            cursor.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}_partitioned_pkey")
            cursor.execute(f"CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING DEFAULTS)")
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_partitioned")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
            cursor.execute(f"DROP TABLE {table}_partitioned")  # its partitions go with it


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0008_reading_outbox")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
