"""PostgreSQL: raw readings and reading aggregates become partitioned tables (the layout is described and kept up
by `headframe.telemetry.storage.partitions`; this migration is history and carries its own copy of the little it
needs). Django's model state does not change: partitioning is physical. SQLite: nothing to do.

The existing rows are not copied: a mine's 90 days of raw readings are billions of rows, hours of downtime to copy
(1.6-5 s per million here). Each old table is renamed `<parent>_legacy` and ATTACHed whole as one partition covering
its rows' UTC days (months); new days (months) get partitions from there on, plus a default. The old primary key
index becomes the legacy partition's part of the new one: nothing is rebuilt.

An ATTACH reads the whole table to check its bounds unless a valid CHECK constraint already implies them. For the
raw readings that check is added NOT VALID and validated first, outside the locked step (this migration is not
atomic): VALIDATE CONSTRAINT reads the table under SHARE UPDATE EXCLUSIVE, so ingest may go on meanwhile, and the
rename + ATTACH in the locked step (ACCESS EXCLUSIVE) then take milliseconds. The bounds leave room for what ingest may still
write meanwhile: from the oldest row's day (no later than the oldest reading ingest accepts, TELEMETRY_MAX_AGE_S)
to the end of the day after the newest row (or now). Letting the ATTACH check instead costs the same scan
(~0.1 s per million rows, measured) but under the lock.

Retention thins the legacy partition row by row (in chunks) while it straddles the cutoff and drops it whole once
all of its range is past (`readings_prune`).

Aggregates: the old table holds both steps, so its few '1h' rows (1/60 of the '1m' rows) are copied to the '1h'
partition and deleted from it, and what remains — the '1m' rows, 1/60 of the raw ones — is checked and attached as
the legacy partition of the minute table (by month), all in the locked step. Reverse: plain tables again, every
row copied back (rare, and correct for any state)."""

import contextlib
import datetime as dt
import time

from django.conf import settings
from django.db import DatabaseError, migrations, transaction

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


def _check_bounds(cursor, table: str, column: str, low: int, high: int, also: str = "") -> None:
    """A valid CHECK constraint on `table` that implies the partition bounds [low, high), so that the ATTACH
    need not read the table."""
    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {BOUNDS_CHECK}")  # a run that failed
    cursor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {BOUNDS_CHECK} "
        f"CHECK ({also}{column} >= {low} AND {column} < {high}) NOT VALID"
    )
    cursor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {BOUNDS_CHECK}")


def _raw_bounds(cursor, table: str, now_ms: int) -> tuple[int, int] | None:
    """Bound and check the raw readings in `table` as they are (None: there are none), with room for what ingest
    may write meanwhile."""
    oldest = _edge(cursor, table, "ts", "min")
    if oldest is None:
        return None
    accepted = now_ms - getattr(settings, "TELEMETRY_MAX_AGE_S", 7 * 86_400) * 1000 - DAY_MS
    newest = max(_edge(cursor, table, "ts", "max"), now_ms)
    low, high = _day(min(oldest, accepted))[1], _day(newest + DAY_MS)[2]
    _check_bounds(cursor, table, "ts", low, high)
    return low, high


def _attach(cursor, parent: str, legacy: str, bounds: tuple[int, int] | None) -> int | None:
    """ATTACH `legacy` (the old rows) to `parent` within `bounds` (a validated check implies them), or drop it
    when it holds no rows. Returns where the new partitions start (None: no legacy partition)."""
    if bounds is None:
        cursor.execute(f"DROP TABLE {legacy}")
        return None
    low, high = bounds
    cursor.execute(f"ALTER TABLE {parent} ATTACH PARTITION {legacy} FOR VALUES FROM ({low}) TO ({high})")
    cursor.execute(f"ALTER TABLE {legacy} DROP CONSTRAINT {BOUNDS_CHECK}")  # the partition bound says it now
    return high


def _rename_to_legacy(cursor, table: str, legacy: str) -> None:
    cursor.execute(f"ALTER TABLE {table} RENAME TO {legacy}")
    cursor.execute(f"ALTER INDEX {table}_pkey RENAME TO {legacy}_pkey")


def _locked_step(connection, raw_bounds: tuple[int, int] | None, now_ms: int, ahead_ms: int) -> None:
    """Rename, create the partitioned tables, ATTACH the old ones: one transaction, under ACCESS EXCLUSIVE."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _rename_to_legacy(cursor, "telemetry_reading", "telemetry_reading_legacy")
        if raw_bounds is None:  # readings may have come in since: bound these few under the lock
            raw_bounds = _raw_bounds(cursor, "telemetry_reading_legacy", now_ms)
        for statement in (
            "CREATE TABLE telemetry_reading (LIKE telemetry_reading_legacy INCLUDING DEFAULTS) PARTITION BY RANGE (ts)",
            "ALTER TABLE telemetry_reading ADD CONSTRAINT telemetry_reading_pkey PRIMARY KEY (sensor_id, ts)",
            "CREATE TABLE telemetry_reading_default PARTITION OF telemetry_reading DEFAULT",
        ):
            cursor.execute(statement)
        raw_from = _attach(cursor, "telemetry_reading", "telemetry_reading_legacy", raw_bounds)
        for name, start, end in _spans(_day, max(raw_from or now_ms, now_ms - now_ms % DAY_MS), ahead_ms):
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
            # Hours (and any other step) move out, in one scan: the legacy partition may hold minutes only.
            f"WITH moved AS (DELETE FROM {old} WHERE step <> '1m' RETURNING *) "
            "INSERT INTO telemetry_readingaggregate SELECT * FROM moved",
        ):
            cursor.execute(statement)
        minute_bounds = None
        oldest = _edge(cursor, old, "bucket", "min", "AND step = '1m'")
        if oldest is not None:
            minute_bounds = (
                _month(oldest)[1],
                _month(_edge(cursor, old, "bucket", "max", "AND step = '1m'"))[2],
            )
            _check_bounds(cursor, old, "bucket", *minute_bounds, also="step = '1m' AND ")
        minute_from = _attach(cursor, "telemetry_readingaggregate_1m", old, minute_bounds)
        for name, start, end in _spans(_month, max(minute_from or now_ms, now_ms), ahead_ms):
            cursor.execute(
                f"CREATE TABLE telemetry_readingaggregate_1m_p{name} PARTITION OF telemetry_readingaggregate_1m "
                f"FOR VALUES FROM ({start}) TO ({end})"
            )


def partition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('telemetry_reading')")
        if cursor.fetchone()[0] == "p":
            return
        now_ms = int(time.time() * 1000)
        # The long read, before any lock that would stop ingest.
        raw_bounds = _raw_bounds(cursor, "telemetry_reading", now_ms)
    ahead_ms = now_ms + getattr(settings, "TELEMETRY_PARTITION_DAYS_AHEAD", 7) * DAY_MS
    try:
        _locked_step(connection, raw_bounds, now_ms, ahead_ms)
    except BaseException:
        # Left behind, the check would refuse the day after tomorrow's readings into the plain table: it goes with
        # the failed step (should the connection be lost too, the next `migrate` replaces it; the error raised is
        # the step's own).
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(
                f"ALTER TABLE IF EXISTS telemetry_reading DROP CONSTRAINT IF EXISTS {BOUNDS_CHECK}"
            )
        raise
    with connection.cursor() as cursor:  # statistics for the new parents, after the lock is gone
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")


def unpartition(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('telemetry_reading')")
        if cursor.fetchone()[0] != "p":
            return
    with (
        transaction.atomic(using=schema_editor.connection.alias),
        schema_editor.connection.cursor() as cursor,
    ):
        for table, key in TABLES.items():
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_partitioned")
            cursor.execute(f"ALTER INDEX {table}_pkey RENAME TO {table}_partitioned_pkey")
            cursor.execute(f"CREATE TABLE {table} (LIKE {table}_partitioned INCLUDING DEFAULTS)")
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {table}_partitioned")
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
            cursor.execute(f"DROP TABLE {table}_partitioned")  # its partitions go with it


class Migration(migrations.Migration):
    atomic = False  # the raw readings' bounds are checked before the locked step, with ingest going on
    dependencies = [("telemetry", "0008_reading_outbox")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
