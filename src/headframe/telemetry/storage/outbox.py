"""The reading outbox: raw readings committed in the ingest transaction (with live state and alarms) and
shipped afterwards to an external time-series store by `drain`. Nothing here knows which store that is.

A reading is acknowledged to its gateway only once the ingest transaction commits, and it is in this table from
then on until a shipper has handed it to the store, the store made it searchable (`drain` marks it `shipped_at`)
*and* it stayed there long enough to be on the store's disk (`purge_shipped`, KEEP_SHIPPED_MS later; a store that
restarted meanwhile gets it again, `unship`): so a store that is down or crashes loses nothing and delays nothing,
and the table plus the store always hold every acknowledged reading.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from django.db import connection, transaction

from headframe.telemetry.storage.base import Row
from headframe.telemetry.storage.sql import insert_skipping_stored, values_at

TABLE = "telemetry_readingoutbox"
# A shipped reading stays this long: VictoriaMetrics makes a write searchable at once but puts it on disk only
# seconds later (1.79: lost by a kill -9 within ~5 s, kept after 6 s), so until then a crash of the store must
# find it here to ship it again (its deduplication absorbs a reading it did keep).
KEEP_SHIPPED_MS = 30_000
EXACT_COUNT_UP_TO = 100_000  # `backlog` counts up to this many waiting readings, beyond it estimates


def append(rows: Sequence[Row]) -> int:
    """Add readings (in the caller's transaction); a (sensor, ts) already waiting is skipped. Returns how many
    were added."""
    return insert_skipping_stored(TABLE, rows)


def find(keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """The waiting value of each (sensor, ts) that is waiting."""
    return values_at(TABLE, keys)


def read_range(sensor_id: int, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts, value FROM {TABLE} WHERE sensor_id = %s AND ts >= %s AND ts < %s ORDER BY ts LIMIT %s",
            [sensor_id, start_ms, end_ms, limit],
        )
        return [(ts, value) for ts, value in cursor.fetchall()]


def drain(ship: Callable[[list[Row]], None], limit: int) -> int:
    """Hand up to `limit` waiting (not yet shipped) readings to `ship` and mark them shipped once it returned; if it
    raises, they stay waiting (and the exception propagates). Returns how many were shipped. The rows stay in the
    table (and in every read) until `purge_shipped`.

    PostgreSQL: the rows are marked (and so locked) first and the mark commits only after `ship`, so shippers in
    several processes take disjoint rows (SKIP LOCKED) and a failed one rolls back. SQLite: no write lock is held
    while shipping (it would stop ingest); two shippers may ship the same rows, which the store's deduplication
    absorbs."""
    now_ms = int(time.time() * 1000)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # A mark lost in a crash only ships those readings again, which the store deduplicates: no need to
            # wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute(
                f"UPDATE {TABLE} SET shipped_at = %s WHERE ctid = ANY(ARRAY("  # a TID scan (IN probes row by row)
                f"SELECT ctid FROM {TABLE} WHERE shipped_at IS NULL LIMIT %s FOR UPDATE SKIP LOCKED)) "
                "RETURNING sensor_id, ts, value",
                [now_ms, limit],
            )
            rows = cursor.fetchall()
            if rows:
                ship(rows)
            return len(rows)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sensor_id, ts, value FROM {TABLE} WHERE shipped_at IS NULL LIMIT %s", [limit])
        rows = cursor.fetchall()
    if not rows:
        return 0
    ship(rows)
    with transaction.atomic():
        connection.connection.executemany(
            f"UPDATE {TABLE} SET shipped_at = ? WHERE sensor_id = ? AND ts = ? AND shipped_at IS NULL",
            [(now_ms, sensor_id, ts) for sensor_id, ts, _value in rows],
        )
    return len(rows)


def unship(shipped_before_ms: int) -> int:
    """Mark the readings shipped before this instant as waiting again (the store restarted since and may have lost
    those it had not yet written to disk). Returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET shipped_at = NULL WHERE shipped_at < %s", [shipped_before_ms])
        return int(cursor.rowcount)


def purge_shipped(shipped_before_ms: int, limit: int) -> int:
    """Remove up to `limit` readings shipped before this instant (the caller checked the store kept running since
    then). Returns how many."""
    inner = f"SELECT {{key}} FROM {TABLE} WHERE shipped_at < %s LIMIT %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE ctid = ANY(ARRAY({inner.format(key='ctid')}))",
                [shipped_before_ms, limit],
            )
        else:
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE rowid IN ({inner.format(key='rowid')})",
                [shipped_before_ms, limit],
            )
        return int(cursor.rowcount)


class Backlog(NamedTuple):
    waiting: (
        int  # readings not yet shipped: exact up to EXACT_COUNT_UP_TO, beyond it the table's size estimate
    )
    oldest_ts: int | None  # the oldest waiting reading's ts
    exact: bool


def backlog(exact_up_to: int = EXACT_COUNT_UP_TO) -> Backlog:
    """How far the store is behind, cheap however long the outbox grew while it was down: index lookups and a
    count that stops at `exact_up_to` (then PostgreSQL's row estimate, or SQLite's rowid span)."""
    with connection.cursor() as cursor:
        # ORDER BY the index's columns: PostgreSQL reads MIN(ts) ... IS NULL with a full scan instead.
        cursor.execute(f"SELECT ts FROM {TABLE} WHERE shipped_at IS NULL ORDER BY shipped_at, ts LIMIT 1")
        first = cursor.fetchone()
        oldest = first[0] if first else None
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {TABLE} WHERE shipped_at IS NULL LIMIT %s) AS waiting",
            [exact_up_to + 1],
        )
        counted = int(cursor.fetchone()[0])
        if counted <= exact_up_to:
            return Backlog(counted, oldest, True)
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [TABLE])
        else:
            cursor.execute(f"SELECT MAX(rowid) - MIN(rowid) + 1 FROM {TABLE}")
        estimate = int(cursor.fetchone()[0] or 0)
    return Backlog(max(counted, estimate), oldest, False)
