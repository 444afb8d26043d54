"""PostgreSQL range partitions of the readings: raw readings by UTC day, 1-minute aggregates by UTC month.

The layout (made by migration 0009; SQLite keeps plain tables and every function here does nothing there):

    telemetry_reading                        PARTITION BY RANGE (ts)
        telemetry_reading_p20261207          one per UTC day, [00:00, 24:00)
        telemetry_reading_default            DEFAULT: a reading for a day without a partition is still stored
    telemetry_readingaggregate               PARTITION BY LIST (step)
        telemetry_readingaggregate_1h        '1h', kept forever
        telemetry_readingaggregate_1m        '1m', PARTITION BY RANGE (bucket)
            telemetry_readingaggregate_1m_p202612   one per UTC month
            telemetry_readingaggregate_1m_default
        telemetry_readingaggregate_default   any other step (none is written; there so no row is ever refused)

Minute aggregates go by month: at 1 reading/s they are 1/60 of the raw rows, so a month of them weighs about
half a day of raw readings, and 400 days of retention keep ~14 partitions to plan over instead of 400.

Partitions are made ahead by `partitions_ensure` (the watchdog: on its first tick, then hourly) as plain tables
that are then ATTACHed: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, so reads and ingest go on, where
CREATE TABLE … PARTITION OF would take ACCESS EXCLUSIVE. Rows of the new range waiting in the default partition
move in the same transaction, with the default partition locked so that no row lands there between the copy and
the delete.

A database that had readings before migration 0009 keeps them, uncopied, in one legacy partition per table
(`telemetry_reading_legacy`, `telemetry_readingaggregate_1m_legacy`) whose range is the days (months) those rows
span, however many: partitions are never made over its range, and pruning skips it outside that range like any
other partition.

Retention drops whole partitions (`partitions_drop_older`), the legacy one too once all of its range is past; until
then its rows past retention are deleted in chunks, like those waiting in a default partition
(`partitions_thinned`). Maintenance runs under a transaction-level advisory lock (a second process finds it taken
and leaves the work to the first) and a 50 ms lock timeout, so it never queues ingest behind a long read for more
than a moment: a round that times out is retried later, and the default partition keeps every reading meanwhile.
Each partition is dropped in a transaction of its own, so a round cut short keeps what it had done.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

DAY_MS = 86_400_000
AGGREGATE_FILLFACTOR = 70  # the minute and hour aggregates (see Layout.fillfactor); migration 0012 sets it
MAINTENANCE_LOCK = 0x68665F7061727473  # pg_advisory_xact_lock key: "hf_parts"
# DROP TABLE of a partition takes ACCESS EXCLUSIVE on the parent: while it waits behind a reader, every insert
# queues behind it. 50 ms bounds that stall; a round that times out is retried (watchdog MAINTENANCE_RETRY_S).
LOCK_TIMEOUT = "50ms"

_BOUNDS = re.compile(r"FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


@dataclass(frozen=True)
class Layout:
    """One range-partitioned table: its partition key column and the span of one partition."""

    parent: str
    column: str
    monthly: bool
    retention_setting: str  # the settings name of its retention in days (0: keep forever)

    key_filter: str = ""  # what else the primary key's prefix before the partition column says (a loose scan)
    # Room left in each page for a row's next version. An aggregate row is rewritten by every flush of its minute
    # (60 times at 1 reading/s): with room on its page the update is HOT — no new index entry, the old version
    # pruned in place — and the upsert of a group's flush took 140-200 ms instead of 270-420 (30 000 rows).
    # Raw readings are written once: full pages.
    fillfactor: int = 100

    @property
    def default(self) -> str:
        return f"{self.parent}_default"

    @property
    def legacy(self) -> str:
        """The partition that migration 0009 made of the table as it was (it may not exist)."""
        return f"{self.parent}_legacy"

    def span(self, ms: int) -> tuple[int, int]:
        """[start, end) epoch ms of the partition that holds `ms`."""
        if not self.monthly:
            start = ms - ms % DAY_MS
            return start, start + DAY_MS
        day = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
        first = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC)
        after = dt.datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=dt.UTC)
        return int(first.timestamp()) * 1000, int(after.timestamp()) * 1000

    def name(self, start_ms: int) -> str:
        when = dt.datetime.fromtimestamp(start_ms // 1000, dt.UTC)
        return f"{self.parent}_p{when:%Y%m}" if self.monthly else f"{self.parent}_p{when:%Y%m%d}"

    def cutoff(self, now_ms: int) -> int | None:
        """Rows older than this are past retention (None: kept forever)."""
        days = getattr(settings, self.retention_setting)
        return now_ms - days * DAY_MS if days else None


RAW = Layout("telemetry_reading", "ts", monthly=False, retention_setting="TELEMETRY_RETENTION_RAW_DAYS")
MINUTE = Layout(
    "telemetry_readingaggregate_1m",
    "bucket",
    monthly=True,
    retention_setting="TELEMETRY_RETENTION_MINUTE_DAYS",
    key_filter="AND step = '1m'",
    fillfactor=AGGREGATE_FILLFACTOR,
)
LAYOUTS = (RAW, MINUTE)


@dataclass(frozen=True)
class Partition:
    name: str
    start_ms: int
    end_ms: int


def partitioned() -> bool:
    """True on PostgreSQL once migration 0009 made the readings a partitioned table."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [RAW.parent])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions_list(layout: Layout) -> list[Partition]:
    """The range partitions of `layout` (not its default), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [layout.parent],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        match = _BOUNDS.match(bound or "")
        if match:
            found.append(Partition(name, int(match[1]), int(match[2])))
    return sorted(found, key=lambda p: p.start_ms)


def partitions_ensure(*, days_ahead: int | None = None, now_ms: int | None = None) -> list[str]:
    """Create the partitions from today to `days_ahead` days on (TELEMETRY_PARTITION_DAYS_AHEAD), and those of
    any day/month within retention that has rows waiting in a default partition (moving them in). Idempotent;
    returns the partitions created ([] also when another process holds the maintenance lock: it does the work)."""
    if not partitioned():
        return []
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    ahead = settings.TELEMETRY_PARTITION_DAYS_AHEAD if days_ahead is None else days_ahead
    created: list[str] = []
    for layout in LAYOUTS:
        with _maintenance() as cursor:
            if cursor is None:
                return created
            existing = partitions_list(layout)
            start = layout.span(now_ms)[0]
            end = layout.span(now_ms + ahead * DAY_MS)[1]
            wanted = set(_spans(layout, start, end))
            wanted |= _spans_waiting_in_default(cursor, layout, max(layout.cutoff(now_ms) or 0, 0), end)
            for span_start in sorted(wanted):
                span_end = layout.span(span_start)[1]
                # Taken already: by its own partition, or by the legacy one over many days (months).
                if not any(p.start_ms < span_end and span_start < p.end_ms for p in existing):
                    created.append(_partition_create(cursor, layout, span_start))
    return created


def _partition_create(cursor: CursorWrapper, layout: Layout, start_ms: int) -> str:
    """Create the partition starting at `start_ms` and move in the rows of its range from the default
    partition, in the caller's transaction (which holds the maintenance lock)."""
    start_ms, end_ms = layout.span(start_ms)
    name = layout.name(start_ms)
    col = layout.column
    # Locked first, so that no reading lands in the default partition between the move and the ATTACH's check.
    cursor.execute(f"LOCK TABLE {layout.default} IN ACCESS EXCLUSIVE MODE")
    storage = f" WITH (fillfactor = {layout.fillfactor})" if layout.fillfactor < 100 else ""
    cursor.execute(f"CREATE TABLE {name} (LIKE {layout.parent} INCLUDING ALL){storage}")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {layout.default} WHERE {col} >= %s AND {col} < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        [start_ms, end_ms],
    )
    cursor.execute(
        f"ALTER TABLE {layout.parent} ATTACH PARTITION {name} FOR VALUES FROM ({start_ms}) TO ({end_ms})"
    )
    return name


def partitions_drop_older(layout: Layout, cutoff_ms: int) -> list[str]:
    """Drop the partitions whose whole range is older than `cutoff_ms` (a partition straddling it is kept
    until all of it is past), oldest first, each in a transaction of its own: one whose lock is not granted
    within LOCK_TIMEOUT raises, and those dropped before it stay dropped. Returns their names; stops when
    another process holds the maintenance lock."""
    if not partitioned():
        return []
    dropped: list[str] = []
    for partition in partitions_list(layout):
        if partition.end_ms > cutoff_ms:
            break
        with _maintenance() as cursor:
            if cursor is None:
                return dropped
            cursor.execute(f"DROP TABLE IF EXISTS {partition.name}")  # IF EXISTS: another process was first
        dropped.append(partition.name)
    return dropped


def partitions_thinned(layout: Layout, cutoff_ms: int) -> list[str]:
    """The partitions whose rows older than `cutoff_ms` retention deletes row by row: the default one, and the
    legacy one while it straddles the cutoff (before, it has nothing to delete; after, it is dropped whole)."""
    legacy = [p.name for p in partitions_list(layout) if p.name == layout.legacy and p.start_ms < cutoff_ms]
    return [layout.default, *legacy]


def thin_chunk_sql(layout: Layout, table: str, chunk: int) -> str:
    """DELETE up to `chunk` rows of a partition of `layout` older than a cutoff (the one placeholder), found
    through the (sensor, …) primary key — one index range per sensor, a loose scan over the sensors — and
    deleted by tuple id, so a chunk reads the rows it deletes rather than the partition (the legacy one may hold
    billions)."""
    col, key = layout.column, layout.key_filter
    return (
        f"WITH RECURSIVE sensors AS (SELECT min(sensor_id) AS id FROM {table} UNION ALL "
        f"SELECT (SELECT min(sensor_id) FROM {table} WHERE sensor_id > sensors.id) FROM sensors "
        "WHERE sensors.id IS NOT NULL) "
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT old.ctid FROM sensors CROSS JOIN LATERAL "
        f"(SELECT ctid FROM {table} WHERE sensor_id = sensors.id {key} AND {col} < %s LIMIT {chunk}) old "
        f"LIMIT {chunk}))"
    )


@contextmanager
def _maintenance() -> Iterator[CursorWrapper | None]:
    """A transaction holding the maintenance lock, with a short lock timeout; yields None when another
    process holds the lock."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [MAINTENANCE_LOCK])
        if not cursor.fetchone()[0]:
            yield None
            return
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT]
        )
        caller_timeout = cursor.fetchone()[0]
        yield cursor
        # Back to the caller's value, should this run inside a longer transaction (a test, a migration).
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [caller_timeout])


def _spans(layout: Layout, start_ms: int, end_ms: int) -> list[int]:
    starts = []
    at = layout.span(start_ms)[0]
    while at < end_ms:
        starts.append(at)
        at = layout.span(at)[1]
    return starts


def _spans_waiting_in_default(cursor: CursorWrapper, layout: Layout, start_ms: int, end_ms: int) -> set[int]:
    """Starts of the partitions that rows in the default partition between two instants belong to."""
    col = layout.column
    cursor.execute(
        f"SELECT DISTINCT {col} - {col} %% {DAY_MS} FROM {layout.default} WHERE {col} >= %s AND {col} < %s",
        [start_ms, end_ms],
    )
    return {layout.span(day)[0] for (day,) in cursor.fetchall()}
