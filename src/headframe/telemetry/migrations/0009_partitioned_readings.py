"""PostgreSQL: raw readings and reading aggregates become partitioned tables (the layout is described and kept up
by `headframe.telemetry.storage.partitions`; this migration is history and carries its own copy of the little it
needs). The old tables are renamed, the partitioned ones made with the same columns, partitions created for the
existing data (within retention) and the days ahead, every row copied (INSERT … SELECT), the primary keys built
after the copy (one sorted build per partition: twice as fast as growing the index row by row, measured), and the
old tables dropped. Rows older than retention or without a partition land in the default partitions: kept, and
the next prune deletes what is past retention. Django's model state does not change: partitioning is physical.
SQLite: nothing to do. Reverse: the same the other way (plain tables, rows copied back)."""

import datetime as dt
import time

from django.conf import settings
from django.db import migrations

DAY_MS = 86_400_000
TABLES = {  # table: primary key
    "telemetry_reading": "sensor_id, ts",
    "telemetry_readingaggregate": "sensor_id, step, bucket",
}


def _oldest(cursor, table: str, column: str, where: str = "") -> int | None:
    """The oldest value of `column`: a loose index scan of the (sensor, …) primary key — one probe per sensor —
    instead of reading the whole table."""
    cursor.execute(
        f"WITH RECURSIVE sensors AS (SELECT min(sensor_id) AS id FROM {table} UNION ALL "
        f"SELECT (SELECT min(sensor_id) FROM {table} WHERE sensor_id > sensors.id) FROM sensors "
        "WHERE sensors.id IS NOT NULL) "
        f"SELECT min((SELECT min({column}) FROM {table} r WHERE r.sensor_id = sensors.id {where})) FROM sensors"
    )
    return cursor.fetchone()[0]


def _days(start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """(name suffix, start, end) of the UTC days from the one holding start_ms until end_ms."""
    at, spans = start_ms - start_ms % DAY_MS, []
    while at < end_ms:
        spans.append((f"{dt.datetime.fromtimestamp(at // 1000, dt.UTC):%Y%m%d}", at, at + DAY_MS))
        at += DAY_MS
    return spans


def _months(start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """(name suffix, start, end) of the UTC months from the one holding start_ms until end_ms."""
    day = dt.datetime.fromtimestamp(start_ms // 1000, dt.UTC)
    first, spans = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC), []
    while int(first.timestamp()) * 1000 < end_ms:
        after = dt.datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=dt.UTC)
        spans.append((f"{first:%Y%m}", int(first.timestamp()) * 1000, int(after.timestamp()) * 1000))
        first = after
    return spans


def _first(oldest: int | None, now_ms: int, retention_days: int) -> int:
    """Where the partitions of existing data start: its oldest row, but not before retention."""
    cutoff = now_ms - retention_days * DAY_MS if retention_days else 0
    return min(max(oldest if oldest is not None else now_ms, cutoff, 0), now_ms)


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('telemetry_reading')")
        if cursor.fetchone()[0] == "p":
            return
        for table in TABLES:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_unpartitioned")
            cursor.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}_unpartitioned_pkey")
        now_ms = int(time.time() * 1000)
        ahead_ms = now_ms + getattr(settings, "TELEMETRY_PARTITION_DAYS_AHEAD", 7) * DAY_MS
        raw_from = _first(
            _oldest(cursor, "telemetry_reading_unpartitioned", "ts"),
            now_ms,
            getattr(settings, "TELEMETRY_RETENTION_RAW_DAYS", 90),
        )
        minute_from = _first(
            _oldest(cursor, "telemetry_readingaggregate_unpartitioned", "bucket", "AND step = '1m'"),
            now_ms,
            getattr(settings, "TELEMETRY_RETENTION_MINUTE_DAYS", 400),
        )
        statements = [
            "CREATE TABLE telemetry_reading (LIKE telemetry_reading_unpartitioned INCLUDING DEFAULTS) "
            "PARTITION BY RANGE (ts)",
            "CREATE TABLE telemetry_reading_default PARTITION OF telemetry_reading DEFAULT",
            *(
                f"CREATE TABLE telemetry_reading_p{name} PARTITION OF telemetry_reading "
                f"FOR VALUES FROM ({start}) TO ({end})"
                for name, start, end in _days(raw_from, ahead_ms)
            ),
            "CREATE TABLE telemetry_readingaggregate "
            "(LIKE telemetry_readingaggregate_unpartitioned INCLUDING DEFAULTS) PARTITION BY LIST (step)",
            "CREATE TABLE telemetry_readingaggregate_1h PARTITION OF telemetry_readingaggregate "
            "FOR VALUES IN ('1h')",
            "CREATE TABLE telemetry_readingaggregate_1m PARTITION OF telemetry_readingaggregate "
            "FOR VALUES IN ('1m') PARTITION BY RANGE (bucket)",
            "CREATE TABLE telemetry_readingaggregate_1m_default PARTITION OF telemetry_readingaggregate_1m "
            "DEFAULT",
            *(
                f"CREATE TABLE telemetry_readingaggregate_1m_p{name} PARTITION OF telemetry_readingaggregate_1m "
                f"FOR VALUES FROM ({start}) TO ({end})"
                for name, start, end in _months(minute_from, ahead_ms)
            ),
            "CREATE TABLE telemetry_readingaggregate_default PARTITION OF telemetry_readingaggregate DEFAULT",
        ]
        for statement in statements:
            cursor.execute(statement)
        for table, key in TABLES.items():
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_unpartitioned")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
            cursor.execute(f"DROP TABLE {table}_unpartitioned")
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
